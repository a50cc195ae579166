//! The options every client command shares, global so they may stand before or after the
//! subcommand: `-b/--bootstrap` (also `KRAFKA_BOOTSTRAP`), `--config FILE` (a Java-style
//! properties file, like the Kafka scripts' `--command-config`) and `-X key=value` (any client
//! property, repeatable, applied after the file). They become one [`Properties`], from which
//! the handle, producers and consumers are built, so security settings reach every connection.

use std::path::PathBuf;

use clap::Args;
use krafka::{Krafka, Properties};

/// Where the cluster is and how to connect to it.
#[derive(Args, Clone, Debug, Default)]
pub struct ClientOpts {
    /// The cluster (host:port,...); overrides bootstrap.servers from --config.
    #[arg(
        short = 'b',
        long,
        global = true,
        env = "KRAFKA_BOOTSTRAP",
        value_name = "HOST:PORT,..."
    )]
    pub bootstrap: Option<String>,
    /// A Java-style client properties file (bootstrap.servers, security.protocol, sasl.*,
    /// ssl.*, ...), like the Kafka scripts' --command-config.
    #[arg(long = "config", global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// A client property as KEY=VALUE (repeatable; applied after --config).
    #[arg(short = 'X', global = true, value_name = "KEY=VALUE")]
    pub properties: Vec<String>,
}

impl ClientOpts {
    /// The properties: the file, then every -X, then -b as bootstrap.servers; a client id of
    /// `krafka-cli` unless one is set.
    pub fn properties(&self) -> Result<Properties, String> {
        let mut props = match &self.config {
            Some(path) => Properties::from_file(path).map_err(|e| format!("--config: {e}"))?,
            None => Properties::default(),
        };
        for kv in &self.properties {
            let (key, value) = kv
                .split_once('=')
                .ok_or_else(|| format!("-X {kv}: expected KEY=VALUE"))?;
            props
                .set(key.trim(), value)
                .map_err(|e| format!("-X: {e}"))?;
        }
        if let Some(bootstrap) = &self.bootstrap {
            props
                .set("bootstrap.servers", bootstrap)
                .map_err(|e| e.to_string())?;
        }
        if props.get("client.id").is_none() {
            props
                .set("client.id", "krafka-cli")
                .map_err(|e| e.to_string())?;
        }
        Ok(props)
    }

    /// Whether a cluster was named (by -b, the environment or the properties).
    pub fn has_bootstrap(&self) -> Result<bool, String> {
        Ok(self.properties()?.get("bootstrap.servers").is_some())
    }

    /// The properties, which must name a cluster.
    pub fn cluster_properties(&self) -> Result<Properties, String> {
        let props = self.properties()?;
        if props.get("bootstrap.servers").is_none() {
            return Err(
                "no cluster given: use -b HOST:PORT, KRAFKA_BOOTSTRAP, or bootstrap.servers in --config"
                    .into(),
            );
        }
        Ok(props)
    }

    /// Connects the shared handle.
    pub async fn connect(&self) -> Result<Krafka, String> {
        self.cluster_properties()?
            .krafka()
            .map_err(|e| e.to_string())?
            .connect()
            .await
            .map_err(|e| e.to_string())
    }
}
