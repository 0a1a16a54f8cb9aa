"""The topic registry is the one place topic names live, and it is consistent."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from streams.contracts.catalog import EVENT_MODELS
from streams.topics import TOPICS, TopicSpec
from tests.samples import sample

REPO = Path(__file__).resolve().parents[3]
PACKAGES = ["streams", "pipelines", "serving", "media", "warehouse", "orchestration", "ops"]


def test_every_event_travels_on_exactly_one_topic() -> None:
    for model in EVENT_MODELS:
        assert TOPICS.for_event(model).name


@pytest.mark.parametrize("spec", list(TOPICS), ids=lambda s: s.name)
def test_each_topic_key_exists_on_all_its_events(spec: TopicSpec) -> None:
    for model in spec.events:
        assert spec.key in model.model_fields, f"{model.__name__} lacks key field {spec.key}"
        assert spec.key_of(sample(model))


@pytest.mark.parametrize("spec", list(TOPICS), ids=lambda s: s.name)
def test_each_topic_has_a_dead_letter_topic_and_a_retention_policy(spec: TopicSpec) -> None:
    dlq = spec.dead_letter_spec()
    assert dlq.name == f"{spec.name}.dlq"
    assert dlq.retention is not None
    config = spec.kafka_config()
    if spec.compacted:
        assert config["cleanup.policy"] == "compact"
    else:
        assert config["cleanup.policy"] == "delete"
        assert int(config["retention.ms"]) > 0


def test_ordering_keys_follow_the_architecture() -> None:
    assert TOPICS.get("chat.submitted").key == "room_id"
    assert TOPICS.get("gifts.requested").key == "sender_id"  # one wallet's gifts are serialised
    assert TOPICS.get("qos.beacons").key == "sid"  # playback session


def test_no_topic_name_is_written_outside_the_registry() -> None:
    names = {spec.name for spec in TOPICS.with_dead_letters()}
    pattern = re.compile(r"""["']([a-z]+\.[a-z_.]+)["']""")
    offenders = []
    for package in PACKAGES:
        for path in (REPO / package).rglob("*.py"):
            if path.name == "topics.py" and path.parent.name == "streams":
                continue
            for number, line in enumerate(path.read_text().splitlines(), start=1):
                offenders += [
                    f"{path.relative_to(REPO)}:{number}: {m}" for m in pattern.findall(line) if m in names
                ]
    assert not offenders, "topic names must come from streams.topics.TOPICS:\n" + "\n".join(offenders)


def test_a_namespaced_copy_carries_the_same_events_under_its_own_names() -> None:
    bench = TOPICS.namespaced("bench.")
    assert [s.name for s in bench] == [f"bench.{s.name}" for s in TOPICS]
    chat = bench.for_event(EVENT_MODELS[0])
    assert chat.name == "bench." + TOPICS.for_event(EVENT_MODELS[0]).name
    assert chat.dead_letter == chat.name + ".dlq"
    assert [(s.events, s.key, s.partitions) for s in bench] == [
        (s.events, s.key, s.partitions) for s in TOPICS
    ]
    with pytest.raises(ValueError, match="ends with a dot"):
        TOPICS.namespaced("bench")
