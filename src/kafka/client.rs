//! Connecting tools to a cluster like every Kafka tool does: bootstrap servers, client
//! properties (a Java `.properties` file, as `kafka-consumer-groups --command-config` reads,
//! and single `key=value` overrides), a timeout, TLS and SASL; librdkafka's own log lines go
//! through `tracing` (target `librdkafka`), never straight to stderr.

use std::sync::Mutex;
use std::time::Duration;

use rdkafka::ClientConfig;
use rdkafka::client::ClientContext;
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext};
use rdkafka::error::KafkaError;

use super::KafkaIntegrationError;

/// How a tool reaches the cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct KafkaOptions {
    /// `host:port[,host:port...]`.
    pub bootstrap: String,
    /// librdkafka client properties, applied in order (a later key wins).
    pub properties: Vec<(String, String)>,
    /// How long each request to the cluster may take.
    pub timeout: Duration,
}

/// The timeout of [`KafkaOptions::new`], as `kafka-consumer-groups`' default.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(15);

impl KafkaOptions {
    /// Plain connection to `bootstrap`, no properties, [`DEFAULT_TIMEOUT`].
    pub fn new(bootstrap: impl Into<String>) -> Self {
        KafkaOptions {
            bootstrap: bootstrap.into(),
            properties: Vec::new(),
            timeout: DEFAULT_TIMEOUT,
        }
    }

    /// Adds client properties (later ones win over earlier ones).
    pub fn with_properties(
        mut self,
        properties: impl IntoIterator<Item = (String, String)>,
    ) -> Self {
        self.properties.extend(properties);
        self
    }

    /// Sets the timeout.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The `security.protocol` in effect (`plaintext` unless a property says otherwise).
    pub fn security_protocol(&self) -> String {
        self.properties
            .iter()
            .rev()
            .find(|(k, _)| k == "security.protocol")
            .map_or_else(|| "plaintext".to_owned(), |(_, v)| v.to_lowercase())
    }
}

/// Parses Java `.properties` text (what `kafka-consumer-groups --command-config` reads):
/// `key=value`, `key: value` or `key value` lines, `#` and `!` comments, blank lines, a
/// trailing `\` continuing a line, `\` escapes (`\n`, `\t`, `\uXXXX`, `\=`...). Java client
/// names are turned into librdkafka's where they differ: `sasl.jaas.config` with a PLAIN or
/// SCRAM login module becomes `sasl.username` and `sasl.password`, `sasl.mechanism` becomes
/// `sasl.mechanisms`. A Java trust store (`ssl.truststore.*`) cannot be read by librdkafka and
/// is refused with the property to use instead (`ssl.ca.location`, a PEM file).
///
/// ```
/// let props = tidemark::kafka::parse_properties(
///     "# SCRAM\nsecurity.protocol = SASL_SSL\nsasl.mechanism: SCRAM-SHA-256\n\
///      sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required \\\n  username=\"app\" password=\"s3cr=t\";\n",
/// )?;
/// assert_eq!(props, [
///     ("security.protocol".to_owned(), "SASL_SSL".to_owned()),
///     ("sasl.mechanisms".to_owned(), "SCRAM-SHA-256".to_owned()),
///     ("sasl.username".to_owned(), "app".to_owned()),
///     ("sasl.password".to_owned(), "s3cr=t".to_owned()),
/// ]);
/// # Ok::<(), tidemark::kafka::KafkaIntegrationError>(())
/// ```
pub fn parse_properties(text: &str) -> Result<Vec<(String, String)>, KafkaIntegrationError> {
    let mut out = Vec::new();
    let mut lines = text.lines().enumerate().peekable();
    while let Some((index, first)) = lines.next() {
        let line_no = index + 1;
        let mut logical = first.trim_start().to_owned();
        if logical.is_empty() || logical.starts_with('#') || logical.starts_with('!') {
            continue;
        }
        // An odd number of trailing backslashes continues the line.
        while logical.chars().rev().take_while(|c| *c == '\\').count() % 2 == 1 {
            logical.pop();
            match lines.next() {
                Some((_, next)) => logical.push_str(next.trim_start()),
                None => break,
            }
        }
        let (key, value) = split_property(&logical);
        let problem = |reason: String| KafkaIntegrationError::Property {
            line: Some(line_no),
            reason,
        };
        let key = unescape(key).map_err(&problem)?;
        let value = unescape(value).map_err(&problem)?;
        out.extend(translate(key, value).map_err(&problem)?);
    }
    Ok(out)
}

/// Parses one `key=value` (as `-X` takes it); the key and value are trimmed.
pub fn parse_property(text: &str) -> Result<(String, String), KafkaIntegrationError> {
    match text.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_owned(), v.trim().to_owned())),
        _ => Err(KafkaIntegrationError::Property {
            line: None,
            reason: format!("{text:?} is not key=value"),
        }),
    }
}

/// Splits a logical line at the first unescaped `=`, `:` or whitespace.
fn split_property(line: &str) -> (&str, &str) {
    let bytes = line.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'=' | b':' | b' ' | b'\t' | b'\x0c' => break,
            _ => i += 1,
        }
    }
    let key = &line[..i.min(line.len())];
    let mut rest = line[i.min(line.len())..].trim_start_matches([' ', '\t', '\x0c']);
    if let Some(r) = rest.strip_prefix(['=', ':']) {
        rest = r.trim_start_matches([' ', '\t', '\x0c']);
    }
    (key, rest.trim_end())
}

fn unescape(text: &str) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('r') => out.push('\r'),
            Some('f') => out.push('\x0c'),
            Some('u') => {
                let hex: String = chars.by_ref().take(4).collect();
                let c = u32::from_str_radix(&hex, 16)
                    .ok()
                    .filter(|_| hex.len() == 4)
                    .and_then(char::from_u32)
                    .ok_or_else(|| format!("bad escape \\u{hex}"))?;
                out.push(c);
            }
            Some(other) => out.push(other),
            None => {}
        }
    }
    Ok(out)
}

/// Java client property → librdkafka properties.
fn translate(key: String, value: String) -> Result<Vec<(String, String)>, String> {
    Ok(match key.as_str() {
        "sasl.mechanism" => vec![("sasl.mechanisms".to_owned(), value)],
        "sasl.jaas.config" => {
            let field = |name: &str| {
                let start = value.find(&format!("{name}=\""))? + name.len() + 2;
                let end = value[start..].find('"')? + start;
                Some(value[start..end].to_owned())
            };
            if !(value.contains("ScramLoginModule") || value.contains("PlainLoginModule")) {
                return Err(
                    "sasl.jaas.config: only the PLAIN and SCRAM login modules can be translated \
                     (for GSSAPI set sasl.kerberos.* properties)"
                        .to_owned(),
                );
            }
            match (field("username"), field("password")) {
                (Some(u), Some(p)) => vec![
                    ("sasl.username".to_owned(), u),
                    ("sasl.password".to_owned(), p),
                ],
                _ => {
                    return Err(
                        "sasl.jaas.config: no username=\"...\" password=\"...\" found".to_owned(),
                    );
                }
            }
        }
        k if k.starts_with("ssl.truststore.") => {
            return Err(format!(
                "{k}: librdkafka reads no Java trust store; give the CA certificate as a PEM \
                 file with ssl.ca.location"
            ));
        }
        _ => vec![(key, value)],
    })
}

/// Reads a properties file (see [`parse_properties`]).
pub fn read_properties_file(
    path: &std::path::Path,
) -> Result<Vec<(String, String)>, KafkaIntegrationError> {
    let text = std::fs::read_to_string(path).map_err(|e| KafkaIntegrationError::Property {
        line: None,
        reason: format!("cannot read {}: {e}", path.display()),
    })?;
    parse_properties(&text).map_err(|e| match e {
        KafkaIntegrationError::Property { line, reason } => KafkaIntegrationError::Property {
            line,
            reason: format!("{}: {reason}", path.display()),
        },
        other => other,
    })
}

/// The client context of tool consumers: librdkafka's log lines become `tracing` events
/// (target `librdkafka`: errors and warnings at info, the rest at debug, so a tool is silent
/// unless asked), and the last error it reported is kept to explain a failed connection.
#[derive(Debug, Default)]
pub struct ToolContext {
    last_error: Mutex<Option<String>>,
}

impl ToolContext {
    /// The last error librdkafka reported (a refused connection, a failed handshake...),
    /// preferring a specific one to "N/N brokers are down".
    pub fn last_error(&self) -> Option<String> {
        self.last_error
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

impl ClientContext for ToolContext {
    fn log(&self, level: RDKafkaLogLevel, fac: &str, log_message: &str) {
        use RDKafkaLogLevel as L;
        match level {
            L::Emerg | L::Alert | L::Critical | L::Error | L::Warning => {
                tracing::info!(target: "librdkafka", facility = fac, "{log_message}")
            }
            _ => tracing::debug!(target: "librdkafka", facility = fac, "{log_message}"),
        }
    }

    fn error(&self, error: KafkaError, reason: &str) {
        tracing::info!(target: "librdkafka", error = %error, "{reason}");
        // Keep the most telling reason: "N/N brokers are down" only when nothing better came.
        let mut last = self.last_error.lock().unwrap_or_else(|e| e.into_inner());
        let summary = |r: &str| r.contains("brokers are down");
        if last.as_deref().is_none_or(summary) || !summary(reason) {
            *last = Some(reason.to_owned());
        }
    }
}

impl ConsumerContext for ToolContext {}

/// The consumer type tools use (see [`connect`]).
pub type ToolConsumer = BaseConsumer<ToolContext>;

/// A client configuration for a tool: the options' bootstrap servers and properties, this
/// group, no automatic commits, librdkafka's logs at debug level (routed by [`ToolContext`]).
fn tool_config(options: &KafkaOptions, group: &str) -> ClientConfig {
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", &options.bootstrap)
        .set("group.id", group)
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false")
        .set_log_level(RDKafkaLogLevel::Debug);
    for (k, v) in &options.properties {
        config.set(k, v);
    }
    config
}

/// A consumer for tools (inspection, resets) in group `group`, checked to reach the cluster:
/// fails with [`KafkaIntegrationError::Unreachable`] (what librdkafka last reported, and what
/// to check) when no broker answers a metadata request within the timeout, and with
/// [`KafkaIntegrationError::Property`] on a property librdkafka does not know.
pub fn connect(options: &KafkaOptions, group: &str) -> Result<ToolConsumer, KafkaIntegrationError> {
    let consumer: ToolConsumer = tool_config(options, group)
        .create_with_context(ToolContext::default())
        .map_err(|e| KafkaIntegrationError::Property {
            line: None,
            reason: match e {
                KafkaError::ClientCreation(reason) => reason,
                other => other.to_string(),
            },
        })?;
    if let Err(e) = consumer.fetch_metadata(None, options.timeout) {
        // librdkafka hands its errors over when polled: serve them, to say what it saw.
        for _ in 0..5 {
            if consumer.context().last_error().is_some() {
                break;
            }
            let _ = consumer.poll(Duration::from_millis(20));
        }
        return Err(unreachable_error(options, consumer.context(), &e));
    }
    Ok(consumer)
}

/// The error for a cluster that did not answer.
pub(crate) fn unreachable_error(
    options: &KafkaOptions,
    context: &ToolContext,
    error: &KafkaError,
) -> KafkaIntegrationError {
    KafkaIntegrationError::Unreachable {
        bootstrap: options.bootstrap.clone(),
        security_protocol: options.security_protocol(),
        timeout: options.timeout,
        reason: context.last_error().unwrap_or_else(|| match error {
            KafkaError::MetadataFetch(code) => code.to_string(),
            other => other.to_string(),
        }),
    }
}

/// A member of a consumer group.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct GroupMember {
    /// The member id.
    pub id: String,
    /// The member's client id.
    pub client_id: String,
    /// The member's host.
    pub host: String,
}

/// The members of consumer group `group` (empty: no consumer is in it, or no such group), as
/// the group coordinator describes it (`kafka-consumer-groups --describe --members`): groups
/// of both protocols, classic and KIP-848's `consumer` (librdkafka's DescribeConsumerGroups,
/// which asks with ConsumerGroupDescribe or DescribeGroups as the group needs).
pub fn group_members<C: ConsumerContext>(
    consumer: &BaseConsumer<C>,
    group: &str,
    timeout: Duration,
) -> Result<Vec<GroupMember>, KafkaIntegrationError> {
    use rdkafka::bindings as rd;
    use rdkafka::types::RDKafkaErrorCode;
    use std::ffi::{CStr, CString};

    let fail = |code: rd::rd_kafka_resp_err_t| KafkaIntegrationError::Kafka {
        operation: "describe group",
        source: KafkaError::AdminOp(RDKafkaErrorCode::from(code)),
    };
    let name = CString::new(group).map_err(|_| KafkaIntegrationError::Property {
        line: None,
        reason: format!("group name {group:?} holds a NUL byte"),
    })?;
    let timeout_ms = i32::try_from(timeout.as_millis()).unwrap_or(i32::MAX);
    let text = |p: *const std::os::raw::c_char| {
        if p.is_null() {
            String::new()
        } else {
            // SAFETY: librdkafka returns NUL-terminated strings owned by the event.
            unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
        }
    };
    let rk = consumer.client().native_ptr();
    // SAFETY: every pointer comes from librdkafka or lives across the block (`name`); the
    // options, queue and event are ours and destroyed once; descriptions and members are
    // owned by the event and read before it is destroyed.
    unsafe {
        let options = rd::rd_kafka_AdminOptions_new(
            rk,
            rd::rd_kafka_admin_op_t::RD_KAFKA_ADMIN_OP_DESCRIBECONSUMERGROUPS,
        );
        let mut errstr = [0 as std::os::raw::c_char; 256];
        rd::rd_kafka_AdminOptions_set_request_timeout(
            options,
            timeout_ms,
            errstr.as_mut_ptr(),
            errstr.len(),
        );
        let queue = rd::rd_kafka_queue_new(rk);
        let mut names = [name.as_ptr()];
        rd::rd_kafka_DescribeConsumerGroups(rk, names.as_mut_ptr(), 1, options, queue);
        // A little longer than the request's own timeout, which answers first.
        let event = rd::rd_kafka_queue_poll(queue, timeout_ms.saturating_add(1000));
        rd::rd_kafka_AdminOptions_destroy(options);
        rd::rd_kafka_queue_destroy(queue);
        if event.is_null() {
            return Err(fail(rd::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR__TIMED_OUT));
        }
        let result = (|| {
            let code = rd::rd_kafka_event_error(event);
            if code != rd::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR {
                return Err(fail(code));
            }
            let described = rd::rd_kafka_event_DescribeConsumerGroups_result(event);
            if described.is_null() {
                return Err(fail(rd::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR__FAIL));
            }
            let mut count = 0usize;
            let groups = rd::rd_kafka_DescribeConsumerGroups_result_groups(described, &mut count);
            let mut members = Vec::new();
            for g in 0..count {
                let desc = *groups.add(g);
                let error = rd::rd_kafka_ConsumerGroupDescription_error(desc);
                if !error.is_null() {
                    match rd::rd_kafka_error_code(error) {
                        rd::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_GROUP_ID_NOT_FOUND => continue,
                        code => return Err(fail(code)),
                    }
                }
                for m in 0..rd::rd_kafka_ConsumerGroupDescription_member_count(desc) {
                    let member = rd::rd_kafka_ConsumerGroupDescription_member(desc, m);
                    members.push(GroupMember {
                        id: text(rd::rd_kafka_MemberDescription_consumer_id(member)),
                        client_id: text(rd::rd_kafka_MemberDescription_client_id(member)),
                        host: text(rd::rd_kafka_MemberDescription_host(member)),
                    });
                }
            }
            Ok(members)
        })();
        rd::rd_kafka_event_destroy(event);
        result
    }
}
