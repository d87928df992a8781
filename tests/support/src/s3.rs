//! The S3-compatible test server (moto, started by `scripts/test.sh`): where it is and how to
//! reach it, in one place.

/// The test server named by `TIDEMARK_TEST_S3_ENDPOINT` and `TIDEMARK_TEST_S3_BUCKET`.
#[derive(Debug, Clone)]
pub struct S3Server {
    /// Its URL, `http://127.0.0.1:<port>`.
    pub endpoint: String,
    /// A bucket that exists on it.
    pub bucket: String,
}

/// The test server, or `None` outside CI when `TIDEMARK_TEST_S3_ENDPOINT` is unset. Under
/// `CI=true` a missing server is an error, never a silent skip.
pub fn server() -> Option<S3Server> {
    match std::env::var("TIDEMARK_TEST_S3_ENDPOINT") {
        Ok(endpoint) if !endpoint.is_empty() => Some(S3Server {
            endpoint,
            bucket: std::env::var("TIDEMARK_TEST_S3_BUCKET")
                .unwrap_or_else(|_| "tidemark-test".into()),
        }),
        _ => {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "CI=true but TIDEMARK_TEST_S3_ENDPOINT is not set: the S3 tests need the moto \
                 server that scripts/test.sh starts"
            );
            None
        }
    }
}

impl S3Server {
    /// A store URL under a prefix of its own (`prefix` plus the process id and the time).
    pub fn url(&self, prefix: &str) -> String {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        format!(
            "s3://{}/{prefix}-{}-{nanos}",
            self.bucket,
            std::process::id()
        )
    }

    /// The `object_store` S3 options that reach it (for `StoreOptions::backend_options`).
    pub fn options(&self) -> Vec<(String, String)> {
        [
            ("endpoint", self.endpoint.as_str()),
            ("allow_http", "true"),
            ("region", "us-east-1"),
            ("access_key_id", "testing"),
            ("secret_access_key", "testing"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
    }

    /// The same as the standard `AWS_*` environment variables, for a child process.
    pub fn env(&self) -> Vec<(String, String)> {
        self.options()
            .into_iter()
            .map(|(k, v)| {
                let name = match k.as_str() {
                    "endpoint" => "AWS_ENDPOINT".to_owned(),
                    other => format!("AWS_{}", other.to_ascii_uppercase()),
                };
                (name, v)
            })
            .collect()
    }

    /// An `object_store` handle on the bucket, to look behind a store's back.
    pub fn bucket_store(&self) -> object_store::aws::AmazonS3 {
        let mut builder =
            object_store::aws::AmazonS3Builder::new().with_bucket_name(self.bucket.as_str());
        for (k, v) in self.options() {
            builder = builder.with_config(k.parse().expect("an S3 option"), v);
        }
        builder.build().expect("the S3 test bucket")
    }
}
