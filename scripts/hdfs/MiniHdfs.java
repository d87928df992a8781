import java.io.File;
import java.io.InputStream;

import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.hdfs.HdfsConfiguration;
import org.apache.hadoop.hdfs.MiniDFSCluster;

/**
 * Starts Hadoop's single-process test HDFS (one NameNode, one DataNode) on 127.0.0.1 for
 * tidemark's tests, prints {@code READY hdfs://127.0.0.1:<port>} on stdout once it serves
 * requests, and stops when its standard input closes (or, with {@code --until-killed}, when the
 * process is terminated).
 *
 * <pre>java -cp '&lt;lib&gt;/*' MiniHdfs.java &lt;base-folder&gt; &lt;namenode-port&gt; [--until-killed]</pre>
 *
 * A NameNode port of 0 picks a free one.
 */
public final class MiniHdfs {
    private MiniHdfs() {}

    /**
     * Runs the cluster until stdin closes or the process is terminated.
     *
     * @param args the base folder, the NameNode port, and optionally {@code --until-killed}
     * @throws Exception when the cluster cannot start
     */
    public static void main(String[] args) throws Exception {
        if (args.length < 2 || args.length > 3
                || (args.length == 3 && !args[2].equals("--until-killed"))) {
            System.err.println("usage: MiniHdfs <base-folder> <namenode-port> [--until-killed]");
            System.exit(2);
        }
        File base = new File(args[0]).getAbsoluteFile();
        int port = Integer.parseInt(args[1]);
        boolean untilKilled = args.length == 3;

        Configuration conf = new HdfsConfiguration();
        conf.set(MiniDFSCluster.HDFS_MINIDFS_BASEDIR, base.getPath());
        // Everything on the loopback interface: RPC, data transfer and the web servers.
        conf.set("dfs.namenode.rpc-bind-host", "127.0.0.1");
        conf.set("dfs.namenode.http-address", "127.0.0.1:0");
        conf.set("dfs.namenode.https-address", "127.0.0.1:0");
        conf.set("dfs.datanode.address", "127.0.0.1:0");
        conf.set("dfs.datanode.http.address", "127.0.0.1:0");
        conf.set("dfs.datanode.ipc.address", "127.0.0.1:0");
        // Tests write as whatever user runs them.
        conf.setBoolean("dfs.permissions.enabled", false);

        MiniDFSCluster cluster = new MiniDFSCluster.Builder(conf, base)
                .nameNodePort(port)
                .numDataNodes(1)
                .format(true)
                .build();
        cluster.waitActive();
        Runtime.getRuntime().addShutdownHook(new Thread(cluster::shutdown));

        System.out.println("READY hdfs://127.0.0.1:" + cluster.getNameNodePort());
        System.out.flush();

        if (untilKilled) {
            Thread.currentThread().join();
        }
        InputStream in = System.in;
        byte[] buf = new byte[256];
        while (in.read(buf) >= 0) {
            // Anything written to stdin is ignored; only its end matters.
        }
        System.exit(0);
    }
}
