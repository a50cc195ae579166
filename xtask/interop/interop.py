"""Interop check with a client nobody here wrote: confluent-kafka (librdkafka 2.x).

Against the given bootstrap: create a topic, produce with every compression codec and
idempotence on, consume everything back in a consumer group, commit, and verify every record
(key, value, headers, order per partition) and the committed offsets.

Usage: interop.py BOOTSTRAP [--tolerate-duplicates] [--quick] [-X key=value]...
`-X` adds a client property to every client (security.protocol, sasl.*, ssl.*); `--quick`
sends fewer records per codec. (`cargo xtask interop` runs it against the krafka-mock process,
plaintext and over SSL and SASL_SSL with each mechanism, and against tansu.)
"""

import sys
import time
import uuid

from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

CODECS = ["none", "gzip", "snappy", "lz4", "zstd"]
PER_CODEC = 200
PARTITIONS = 3


def fail(message):
    print(f"interop: FAILED ({' '.join(sys.argv[2:])}): {message}", flush=True)
    sys.exit(1)


def extra_properties(argv):
    extra = {}
    for i, arg in enumerate(argv):
        if arg == "-X" and i + 1 < len(argv):
            key, _, value = argv[i + 1].partition("=")
            extra[key] = value
    return extra


def main():
    global PER_CODEC
    bootstrap = sys.argv[1]
    tolerate_duplicates = "--tolerate-duplicates" in sys.argv
    if "--quick" in sys.argv:
        PER_CODEC = 40
    extra = extra_properties(sys.argv)
    label = extra.get("sasl.mechanisms", extra.get("security.protocol", "PLAINTEXT"))
    run = uuid.uuid4().hex[:8]
    topic = f"interop-{run}"
    admin = AdminClient({"bootstrap.servers": bootstrap, **extra})
    admin.create_topics([NewTopic(topic, num_partitions=PARTITIONS, replication_factor=1)])[topic].result(30)

    delivered = []
    errors = []

    def on_delivery(err, msg):
        if err is not None:
            errors.append(str(err))
        else:
            # Delivery reports carry no headers; rebuild the ones sent from the value.
            codec, i = msg.value().decode().split(";")[0].split(":")
            headers = [("codec", codec.encode()), ("i", i.encode())]
            delivered.append((msg.partition(), msg.offset(), msg.key(), msg.value(), headers))

    for codec in CODECS:
        producer = Producer({
            **extra,
            "bootstrap.servers": bootstrap,
            "enable.idempotence": True,
            "acks": "all",
            "compression.type": codec,
            "linger.ms": 5,
            "partitioner": "murmur2_random",
        })
        for i in range(PER_CODEC):
            producer.produce(
                topic,
                key=f"{codec}-{i % 7}".encode(),
                value=(f"{codec}:{i};" * 4).encode(),
                headers=[("codec", codec.encode()), ("i", str(i).encode())],
                on_delivery=on_delivery,
            )
            producer.poll(0)
        if producer.flush(60) != 0:
            fail(f"{codec}: records still undelivered after 60 s")
    if errors:
        fail(f"delivery errors: {errors[:3]}")
    total = len(CODECS) * PER_CODEC
    if len(delivered) != total:
        fail(f"{len(delivered)} of {total} records delivered")
    if len({(p, o) for p, o, *_ in delivered}) != total:
        fail("two records were acknowledged at the same offset")

    consumer = Consumer({
        **extra,
        "bootstrap.servers": bootstrap,
        "group.id": f"interop-{run}",
        "auto.offset.reset": "earliest",
        "enable.auto.commit": False,
        "fetch.wait.max.ms": 10,
    })
    consumer.subscribe([topic])
    seen = {}
    order = {}
    deadline = time.time() + 90
    while len(seen) < total and time.time() < deadline:
        msg = consumer.poll(0.5)
        if msg is None:
            continue
        if msg.error():
            fail(f"consume error: {msg.error()}")
        key = (msg.partition(), msg.offset())
        if key in seen and not tolerate_duplicates:
            fail(f"record {key} delivered twice")
        seen[key] = (msg.key(), msg.value(), msg.headers())
        order.setdefault(msg.partition(), []).append(msg.offset())
    if len(seen) < total:
        fail(f"consumed {len(seen)} of {total} records within 90 s")
    consumer.commit(asynchronous=False)
    committed = consumer.committed([TopicPartition(topic, p) for p in range(PARTITIONS)], timeout=30)
    consumer.close()

    for partition, offset, k, v, headers in delivered:
        got = seen.get((partition, offset))
        if got is None:
            fail(f"record at {partition}/{offset} was not consumed")
        if got != (k, v, headers):
            fail(f"record at {partition}/{offset} differs: {got} != {(k, v, headers)}")
    for partition, offsets in order.items():
        firsts = []
        for o in offsets:
            if o not in firsts:
                firsts.append(o)
        if firsts != sorted(firsts):
            fail(f"partition {partition} consumed out of order")
        produced = [o for p, o, *_ in delivered if p == partition]
        by_offset = sorted(produced)
        produced_order = [o for p, o, *_ in delivered if p == partition]
        if produced_order != by_offset:
            fail(f"partition {partition}: acknowledged offsets out of send order")
    for tp in committed:
        last = max((o for p, o, *_ in delivered if p == tp.partition), default=-1)
        if tp.offset != last + 1:
            fail(f"partition {tp.partition}: committed {tp.offset}, expected {last + 1}")
    print(f"interop: OK ({label}): {total} records, {len(CODECS)} codecs, {PARTITIONS} partitions, "
          f"consumed in a group and committed", flush=True)


if __name__ == "__main__":
    main()
