//! `krafka broker`: krafka-mock as a standalone cluster, for trying clients against without a
//! Kafka installation. It prints its bootstrap address and serves until Ctrl-C. With
//! `--security-protocol` it listens as a secured Kafka listener does: TLS with certificates
//! from (or written into) `--tls-dir`, SASL with the `--user`s and `--sasl-mechanisms` given.

use clap::Args;

use crate::output::say;

/// Where and how the mock cluster runs.
#[derive(Args)]
pub struct BrokerArgs {
    /// The first broker's port (the others take the next ones); 0 picks free ports.
    #[arg(long, default_value_t = 9092)]
    port: u16,
    /// How many brokers.
    #[arg(long, default_value_t = 1)]
    brokers: i32,
    /// Topics to create at start, as NAME:PARTITIONS (repeatable). Others are created when a
    /// client asks for them, unless --no-auto-create.
    #[arg(long = "topic", value_name = "NAME:PARTITIONS")]
    topics: Vec<String>,
    /// Refuse to create topics on a client's request, as a broker with
    /// `auto.create.topics.enable=false`.
    #[arg(long)]
    no_auto_create: bool,
    /// The listeners' security protocol: PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL.
    #[arg(long, default_value = "PLAINTEXT")]
    security_protocol: String,
    /// SASL mechanisms to enable, comma-separated (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512,
    /// OAUTHBEARER; default: all).
    #[arg(long, value_delimiter = ',')]
    sasl_mechanisms: Vec<String>,
    /// A SASL user as NAME:PASSWORD (repeatable).
    #[arg(long = "user", value_name = "NAME:PASSWORD")]
    users: Vec<String>,
    /// Where the TLS files are: ca.pem, server.pem, server.key, client.pem, client.key are
    /// written there when missing, then used.
    #[arg(long, value_name = "DIR")]
    tls_dir: Option<std::path::PathBuf>,
    /// Require clients to present a certificate signed by the CA (mutual TLS).
    #[arg(long)]
    require_client_cert: bool,
    /// SASL sessions end this many ms after authentication unless the client re-authenticates
    /// (Kafka's connections.max.reauth.ms).
    #[arg(long, value_name = "MS")]
    session_lifetime_ms: Option<u64>,
}

pub async fn run(args: BrokerArgs) -> Result<(), String> {
    let mut builder = krafka_mock::MockCluster::builder()
        .brokers(args.brokers)
        .port(args.port)
        .auto_create_topics(!args.no_auto_create);
    for spec in &args.topics {
        let (name, partitions) = spec
            .split_once(':')
            .and_then(|(n, p)| Some((n, p.parse::<i32>().ok()?)))
            .filter(|(n, p)| !n.is_empty() && *p > 0)
            .ok_or_else(|| format!("--topic {spec}: expected NAME:PARTITIONS"))?;
        builder = builder.topic(name, partitions);
    }
    let (builder, notes) = secure(builder, &args)?;
    let cluster = builder
        .start()
        .await
        .map_err(|e| format!("cannot start the mock cluster on port {}: {e}", args.port))?;
    // The first line is the bootstrap list, for scripts that read it.
    say(&format!("bootstrap.servers={}", cluster.bootstrap()));
    for note in notes {
        say(&note);
    }
    say("serving until Ctrl-C");
    tokio::signal::ctrl_c()
        .await
        .map_err(|e| format!("cannot wait for Ctrl-C: {e}"))?;
    cluster.shutdown().await;
    Ok(())
}

/// Applies the security flags to the cluster builder.
fn secure(
    mut builder: krafka_mock::MockClusterBuilder,
    args: &BrokerArgs,
) -> Result<(krafka_mock::MockClusterBuilder, Vec<String>), String> {
    let mut notes = Vec::new();
    let protocol: krafka::SecurityProtocol = args.security_protocol.parse().map_err(
        |e: krafka::security::UnknownSecurityProtocol| format!("--security-protocol: {e}"),
    )?;
    if protocol.uses_tls() {
        let dir = args
            .tls_dir
            .as_ref()
            .ok_or("--security-protocol with SSL needs --tls-dir DIR for its certificates")?;
        let pki = krafka_mock::TestPki::load_or_create(dir)
            .map_err(|e| format!("--tls-dir {}: {e}", dir.display()))?;
        notes.push(format!("ssl.ca.location={}", dir.join("ca.pem").display()));
        builder = builder
            .tls(krafka_mock::MockTls::new(pki).require_client_cert(args.require_client_cert));
    } else if args.tls_dir.is_some() || args.require_client_cert {
        return Err(
            "--tls-dir and --require-client-cert need --security-protocol SSL or SASL_SSL".into(),
        );
    }
    if protocol.uses_sasl() {
        let mechanisms = if args.sasl_mechanisms.is_empty() {
            krafka_mock::SaslMechanismName::ALL.to_vec()
        } else {
            args.sasl_mechanisms
                .iter()
                .map(|m| {
                    krafka_mock::SaslMechanismName::parse(m)
                        .ok_or_else(|| format!("--sasl-mechanisms: unknown mechanism '{m}'"))
                })
                .collect::<Result<_, _>>()?
        };
        let mut sasl = krafka_mock::MockSasl::new(mechanisms);
        for user in &args.users {
            let (name, password) = user
                .split_once(':')
                .filter(|(n, _)| !n.is_empty())
                .ok_or_else(|| "--user: expected NAME:PASSWORD".to_owned())?;
            sasl = sasl.user(name, password);
        }
        if let Some(ms) = args.session_lifetime_ms {
            sasl = sasl.session_lifetime(std::time::Duration::from_millis(ms));
        }
        builder = builder.sasl(sasl);
    } else if !args.users.is_empty() || !args.sasl_mechanisms.is_empty() {
        return Err(
            "--user and --sasl-mechanisms need --security-protocol SASL_PLAINTEXT or SASL_SSL"
                .into(),
        );
    }
    notes.insert(0, format!("security.protocol={protocol}"));
    Ok((builder, notes))
}
