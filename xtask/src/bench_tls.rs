//! `cargo xtask bench peers tls [--broker mock|tansu|both] [--quick] [--rounds N]
//! [--clients LIST] [--write]`: the producers over TLS beside themselves in plaintext, in one
//! run, so the table gives both what TLS costs each client and Krafka's lead over TLS.
//!
//! Every client, workload and round runs twice, once per security protocol, each on a fresh
//! broker: the `krafka-mock` process listening with TLS only (its run-time test PKI under
//! `target/bench-tls`), or tansu behind Debian's stunnel4 (OpenSSL; see `tls_front`), against
//! the same broker kind in plaintext. Every client trusts the test CA and verifies the broker's
//! hostname, its default. The broker's side of TLS runs in the broker's processes: the client
//! CPU is the client's alone, counted in-window (after the warm-up record, which also carries
//! the handshakes). The order of the clients and of the two protocols rotates every round; the
//! table reports medians.
//!
//! `--write` puts the tables into `docs/performance.md` between the `peers:produce-tls-mock`
//! and `peers:produce-tls-tansu` markers.

use std::path::Path;

use crate::bench::{CLIENTS, produce_workloads, run_once};
use crate::bench_harness::Broker;
use crate::bench_harness::{
    Options, Profile, Row, Sample, Workload, build, row, say, thousands_rate, write_between,
};

pub fn run(root: &Path, args: &[String]) -> Result<(), String> {
    let (brokers, rest) = crate::bench_harness::broker_option(args, vec![Broker::Mock])?;
    let options = crate::bench_harness::options(&rest, &CLIENTS)?;
    let scale = if options.quick { 5 } else { 1 };
    // The 1000 B, 1-partition case adds nothing the others do not show.
    let workloads: Vec<Workload> = produce_workloads(scale).into_iter().take(3).collect();
    let (mock, client) = build(root, Profile::Release)?;
    let mut tables = Vec::new();
    for broker in brokers {
        let mut rows = Vec::new();
        for w in &workloads {
            // samples[protocol][client]: protocol 0 is plaintext, 1 is TLS.
            let mut samples: [Vec<Vec<Sample>>; 2] = [
                vec![Vec::new(); options.clients.len()],
                vec![Vec::new(); options.clients.len()],
            ];
            for round in 0..options.rounds {
                for k in 0..options.clients.len() {
                    let i = (k + round) % options.clients.len();
                    let name = &options.clients[i];
                    for p in 0..2 {
                        // Alternate which protocol goes first.
                        let tls = (p + round + k) % 2 == 1;
                        let sample = run_once(root, broker, &mock, &client, name, w, tls)?;
                        say(&format!(
                            "{name:16} {} {} {} × {} B, {} partition(s), round {}: {:.0} records/s, {:.2} CPU-s",
                            broker.name(),
                            if tls { "TLS      " } else { "plaintext" },
                            w.records,
                            w.size,
                            w.partitions,
                            round + 1,
                            w.records as f64 / sample.seconds,
                            sample.cpu_seconds
                        ));
                        samples[usize::from(tls)][i].push(sample);
                    }
                }
            }
            rows.push([row(w, &samples[0]), row(w, &samples[1])]);
        }
        let table = table(broker, &options, &rows);
        say(&table);
        tables.push((broker, table));
    }
    if options.write {
        for (broker, table) in &tables {
            let (begin, end) = markers(*broker);
            write_between(root, &begin, &end, table)?;
        }
        say("wrote the TLS tables into docs/performance.md");
    }
    Ok(())
}

/// One line per workload and client: plaintext beside TLS, what TLS adds to the client's CPU
/// per record, and Krafka's records per CPU second over TLS relative to each peer's.
fn table(broker: Broker, options: &Options, rows: &[[Row; 2]]) -> String {
    let what = match broker {
        Broker::Mock => "the mock broker in its own process (rustls server)",
        Broker::Tansu => "tansu 0.6.0 (memory storage) behind stunnel4 (OpenSSL server)",
    };
    let mut out = format!(
        "Produce over TLS and in plaintext, acks=all, idempotent, linger 5 ms, batch 16 KiB, \
         keyed, every delivery awaited; {what}; client CPU in-window; {}.\n\n\
         | workload | client | records/s plaintext | records/s TLS | client CPU-s per 1M plaintext | client CPU-s per 1M TLS | TLS adds | peak RSS MiB TLS | Krafka's records per CPU-s vs this client, TLS |\n\
         |---|---|---|---|---|---|---|---|---|\n",
        options.medians()
    );
    let krafka = options.clients.iter().position(|c| c == "krafka");
    for [plain, tls] in rows {
        for (i, client) in options.clients.iter().enumerate() {
            let [plain_rate, _, plain_cpu, _] = plain.per_client[i];
            let [tls_rate, _, tls_cpu, tls_rss] = tls.per_client[i];
            let ratio = match krafka {
                Some(k) if k != i => format!("{:.2}×", tls_cpu / tls.per_client[k][2]),
                _ => "—".to_owned(),
            };
            out.push_str(&format!(
                "| {} | {client} | {} | {} | {plain_cpu:.2} | {tls_cpu:.2} | {:+.0}% | {tls_rss:.0} | {ratio} |\n",
                plain.label,
                thousands_rate(plain_rate),
                thousands_rate(tls_rate),
                (tls_cpu / plain_cpu - 1.0) * 100.0,
            ));
        }
    }
    out
}

fn markers(broker: Broker) -> (String, String) {
    (
        format!(
            "<!-- peers:produce-tls-{}:begin (written by `cargo xtask bench peers tls --write`) -->",
            broker.name()
        ),
        format!("<!-- peers:produce-tls-{}:end -->", broker.name()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_shows_what_tls_adds_and_the_lead_over_tls() {
        let options = Options {
            quick: false,
            rounds: 3,
            clients: vec!["krafka".into(), "rdkafka".into()],
            write: false,
        };
        let plain = Row {
            label: "w".into(),
            per_client: vec![[2e6, 200.0, 0.40, 10.0], [1e6, 100.0, 1.00, 30.0]],
        };
        let tls = Row {
            label: "w".into(),
            per_client: vec![[1.5e6, 150.0, 0.50, 12.0], [0.8e6, 80.0, 1.50, 40.0]],
        };
        let table = table(Broker::Tansu, &options, &[[plain, tls]]);
        assert!(table.contains("behind stunnel4"), "{table}");
        assert!(
            table.contains("| w | krafka | 2.00M | 1.50M | 0.40 | 0.50 | +25% | 12 | — |"),
            "{table}"
        );
        assert!(
            table.contains("| w | rdkafka | 1.00M | 800k | 1.00 | 1.50 | +50% | 40 | 3.00× |"),
            "{table}"
        );
    }

    #[test]
    fn each_broker_has_its_own_markers() {
        let (mock_begin, _) = markers(Broker::Mock);
        let (tansu_begin, tansu_end) = markers(Broker::Tansu);
        assert_ne!(mock_begin, tansu_begin);
        assert!(tansu_end.contains("produce-tls-tansu"));
    }
}
