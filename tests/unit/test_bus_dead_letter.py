"""The dead-letter copy keeps the message whole, persistent, with why it was given up."""

from types import SimpleNamespace

import aio_pika

from services.bus.dead_letter import ATTEMPTS, ROUTING_KEY, copy_of, describe


def delivered(**headers):
    return SimpleNamespace(
        body="Phát thanh tiếng Êđê".encode(),
        headers=headers,
        routing_key="schedule.AiringScheduled",
        content_type="application/json",
        content_encoding="utf-8",
        message_id="m-1",
        type="schedule.AiringScheduled",
        correlation_id="c-1",
        timestamp=None,
        app_id="loa.scheduler",
    )


def test_a_copy_is_persistent_and_keeps_body_properties_and_headers():
    copy = copy_of(delivered(trace="t-1"), {ATTEMPTS: 3, "x-loa-error": "ValueError: bad"})
    assert copy.delivery_mode == aio_pika.DeliveryMode.PERSISTENT
    assert copy.body.decode() == "Phát thanh tiếng Êđê"
    assert (copy.message_id, copy.correlation_id, copy.app_id) == ("m-1", "c-1", "loa.scheduler")
    assert copy.headers == {
        "trace": "t-1",
        ROUTING_KEY: "schedule.AiringScheduled",
        ATTEMPTS: 3,
        "x-loa-error": "ValueError: bad",
    }


def test_the_first_routing_key_survives_a_retry_routed_by_queue_name():
    retried = delivered(**{ROUTING_KEY: "schedule.AiringConfirmed"})
    retried.routing_key = "metrics.scheduler-events"
    assert copy_of(retried, {}).headers[ROUTING_KEY] == "schedule.AiringConfirmed"


def test_a_reason_names_the_error_and_is_bounded():
    assert describe(ValueError("thiếu airing_id")) == "ValueError: thiếu airing_id"
    assert len(describe(ValueError("x" * 5000))) == 1000
