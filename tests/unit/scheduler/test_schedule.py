"""Given events, when a command, then events (or a refusal): the schedule's rules."""

from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest

from contracts.events.reference import ResourceType
from contracts.events.schedule import (
    AiringBumped,
    AiringCancelled,
    AiringConfirmed,
    AiringKind,
    AiringRescheduled,
    AiringRestored,
    AiringScheduled,
    ConfirmationCorrected,
    LivestreamEnded,
    LivestreamWentLive,
    Outcome,
    Priority,
)
from contracts.localtime import to_utc
from services.scheduler.domain.bumped import restore_bumped
from services.scheduler.domain.commands import (
    CancelAiring,
    ConfirmAiring,
    CorrectConfirmation,
    EndLivestream,
    GoLive,
    RescheduleAiring,
    RestoreBumped,
    ScheduleAiring,
)
from services.scheduler.domain.errors import Conflict, InvalidCommand, InvalidTransition, NotFound
from services.scheduler.domain.reference import check_kind
from services.scheduler.domain.schedule import Status, decide, fold

LOA_EA_TU = "loudspeaker:xa-ea-tu"


def at(hh: int, mm: int = 0, day: int = 7) -> datetime:
    """Local time in Đắk Lắk on August <day>, 2023, as UTC."""
    return to_utc(datetime(2023, 8, day, hh, mm))


def schedule(
    title="Bản tin BHYT học sinh, sinh viên", start=(17, 30), minutes=15, day=7, **kw
) -> ScheduleAiring:
    starts = at(*start, day=day)
    fields = dict(
        airing_id=uuid4(),
        resource_id=LOA_EA_TU,
        kind=AiringKind.loudspeaker,
        starts_at=starts,
        ends_at=starts + timedelta(minutes=minutes),
        title=title,
        language="Êđê",
    )
    return ScheduleAiring(**(fields | kw))


def given(*commands):
    """The events of commands decided one after another (the history of a schedule)."""
    state = fold([])
    events = []
    for command in commands:
        new = decide(state, command)
        events += new
        state = fold(new, state)
    return state, events


def test_scheduling_on_a_free_slot_records_the_airing():
    command = schedule()
    state, _ = given()
    [event] = decide(state, command)
    assert isinstance(event, AiringScheduled)
    assert event.starts_at == datetime(2023, 8, 7, 10, 30, tzinfo=UTC)  # 17:30 in Asia/Ho_Chi_Minh
    assert event.language == "Êđê"


def test_an_overlap_is_refused_naming_the_airing_in_the_way():
    first = schedule("Bản tin tiếng Êđê", start=(17, 30))
    state, _ = given(first)
    with pytest.raises(Conflict) as err:
        decide(state, schedule("Bản tin tiếng M'nông", start=(17, 40)))
    [blocker] = err.value.in_the_way
    assert blocker.airing_id == first.airing_id
    assert blocker.title == "Bản tin tiếng Êđê"
    assert "Bản tin tiếng Êđê" in str(err.value)


def test_back_to_back_airings_do_not_overlap():
    state, _ = given(schedule(start=(17, 30), minutes=15))
    assert decide(state, schedule(start=(17, 45), minutes=15))


def test_other_resources_do_not_conflict():
    state, _ = given(schedule())
    other = schedule(resource_id="loudspeaker:xa-hoa-thang")
    with pytest.raises(InvalidCommand):  # one schedule per resource
        decide(state, other)


def test_an_emergency_bumps_the_normal_airings_it_overlaps_visibly():
    a = schedule("Bản tin BHYT", start=(17, 30))
    b = schedule("Bản tin BHXH tự nguyện", start=(17, 45))
    state, _ = given(a, b)
    storm = schedule("Khẩn cấp: bão số 3", start=(17, 35), minutes=20, priority=Priority.emergency)
    events = decide(state, storm)
    bumps = [e for e in events if isinstance(e, AiringBumped)]
    assert {e.airing_id for e in bumps} == {a.airing_id, b.airing_id}
    assert all(e.bumped_by == storm.airing_id and e.bumped_by_title == "Khẩn cấp: bão số 3" for e in bumps)
    assert isinstance(events[-1], AiringScheduled)
    after = fold(events, state)
    assert after.airings[a.airing_id].status is Status.bumped
    assert after.overlapping(at(17, 30), at(18)) == [after.airings[storm.airing_id]]


def test_an_emergency_does_not_displace_a_priority_bulletin():
    p = schedule("Thông báo ưu tiên", start=(17, 30), priority=Priority.priority)
    state, _ = given(p)
    with pytest.raises(Conflict) as err:
        decide(state, schedule("Khẩn cấp", start=(17, 35), priority=Priority.emergency))
    assert [a.airing_id for a in err.value.in_the_way] == [p.airing_id]


def test_normal_and_priority_airings_never_displace_anything():
    state, _ = given(schedule(start=(17, 30)))
    with pytest.raises(Conflict):
        decide(state, schedule(start=(17, 35), priority=Priority.priority))


def test_scheduling_the_same_airing_again_is_a_no_op():
    command = schedule()
    state, _ = given(command)
    assert decide(state, command) == []
    with pytest.raises(InvalidTransition):
        decide(state, schedule(airing_id=command.airing_id, title="khác"))


def test_end_before_start_is_refused_with_the_field():
    with pytest.raises(InvalidCommand) as err:
        decide(fold([]), schedule(minutes=-5))
    assert err.value.field == "ends_at"


def test_rescheduling_moves_the_window_and_checks_the_new_one():
    a, b = schedule(start=(5, 30)), schedule(start=(17, 30))
    state, _ = given(a, b)
    [moved] = decide(state, RescheduleAiring(a.airing_id, at(6, 0), at(6, 15), reason="trùng lịch họp"))
    assert isinstance(moved, AiringRescheduled)
    assert moved.previous_starts_at == a.starts_at
    with pytest.raises(Conflict):
        decide(state, RescheduleAiring(a.airing_id, at(17, 40), at(17, 50)))
    # Moving within its own window does not conflict with itself.
    assert decide(state, RescheduleAiring(a.airing_id, at(5, 35), at(5, 50)))


def test_a_reschedule_without_an_end_keeps_the_length():
    a = schedule(start=(5, 30), minutes=25)
    state, _ = given(a)
    [moved] = decide(state, RescheduleAiring(a.airing_id, at(6, 0), None))
    assert (moved.starts_at, moved.ends_at) == (at(6, 0), at(6, 25))


def test_cancelling_frees_the_slot_and_twice_is_a_no_op():
    a = schedule()
    state, _ = given(a, CancelAiring(a.airing_id, "đổi kế hoạch"))
    assert decide(state, CancelAiring(a.airing_id)) == []
    assert decide(state, schedule(start=(17, 30)))  # the slot is free again


def confirm(airing, outcome=Outcome.aired, **kw):
    fields = dict(
        operator="operator:xa-ea-tu",
        confirmed_at=at(19),
        actual_start=airing.starts_at,
        actual_end=airing.ends_at,
    )
    return ConfirmAiring(airing.airing_id, outcome, **(fields | kw))


def test_operators_confirm_as_run_and_a_second_identical_confirmation_is_a_no_op():
    a = schedule()
    state, _ = given(a)
    [event] = decide(state, confirm(a))
    assert isinstance(event, AiringConfirmed) and event.outcome is Outcome.aired
    state = fold([event], state)
    assert state.airings[a.airing_id].status is Status.aired
    assert decide(state, confirm(a, confirmed_at=at(20))) == []


def test_a_late_confirmation_is_accepted():
    a = schedule(start=(17, 30), day=1)
    state, _ = given(a)
    assert decide(state, confirm(a, confirmed_at=at(9, day=20)))


def test_an_airing_cannot_be_confirmed_before_it_begins():
    a = schedule(start=(17, 30), day=7)
    state, _ = given(a)
    with pytest.raises(InvalidCommand) as err:
        decide(state, confirm(a, confirmed_at=at(9, day=7)))
    assert err.value.field == "outcome" and "07/08/2023 17:30" in str(err.value)
    assert decide(state, confirm(a, confirmed_at=a.starts_at))  # from its start on


def test_confirming_a_cancelled_or_bumped_airing_is_refused():
    a = schedule()
    state, _ = given(a, CancelAiring(a.airing_id))
    with pytest.raises(InvalidTransition):
        decide(state, confirm(a))


def test_a_missed_airing_needs_a_reason():
    a = schedule()
    state, _ = given(a)
    with pytest.raises(InvalidCommand) as err:
        decide(state, confirm(a, Outcome.missed, actual_start=None, actual_end=None))
    assert err.value.field == "reason"
    [event] = decide(state, confirm(a, Outcome.missed, reason="mất điện", actual_start=None, actual_end=None))
    assert event.reason == "mất điện"


def test_unknown_airings_are_not_found():
    with pytest.raises(NotFound):
        decide(fold([]), CancelAiring(uuid4()))


def test_a_livestream_goes_live_then_ends():
    page = "page:facebook-bhxh-dak-lak"
    live = schedule(
        "Livestream: BHXH tự nguyện", start=(20, 0), minutes=60, kind=AiringKind.livestream, resource_id=page
    )
    state, _ = given(live)
    go = GoLive(live.airing_id, "operator:fanpage", at(20, 1), url="https://facebook.com/bhxhdaklak/live")
    [went] = decide(state, go)
    assert isinstance(went, LivestreamWentLive)
    state = fold([went], state)
    assert decide(state, go) == []
    [ended] = decide(state, EndLivestream(live.airing_id, "operator:fanpage", at(21, 5)))
    assert isinstance(ended, LivestreamEnded)
    state = fold([ended], state)
    assert state.airings[live.airing_id].status is Status.ended
    assert decide(state, confirm(live, confirmed_at=at(21, 10)))  # its as-run can still be recorded


def test_only_livestreams_go_live():
    a = schedule()
    state, _ = given(a)
    with pytest.raises(InvalidTransition):
        decide(state, GoLive(a.airing_id, "operator:x", at(17, 30)))


def test_history_folds_to_the_same_state_as_it_was_decided():
    a, b = schedule(start=(5, 30)), schedule(start=(17, 30))
    state, events = given(a, b, CancelAiring(a.airing_id), confirm(b))
    assert fold(events) == state
    assert [type(e) for e in events] == [AiringScheduled, AiringScheduled, AiringCancelled, AiringConfirmed]


def test_posts_share_the_page_with_each_other_and_with_a_livestream():
    page = "page:facebook-bhxh-dak-lak"
    live = schedule(
        "Livestream: BHXH tự nguyện", start=(20, 0), minutes=90, kind=AiringKind.livestream, resource_id=page
    )
    state, _ = given(live)
    post = {"minutes": 1, "kind": AiringKind.post, "resource_id": page}
    first = schedule("Infographic: Luật BHXH 2024", start=(20, 30), **post)
    [event] = decide(state, first)
    state = fold([event], state)
    second = schedule("Video: VssID", start=(20, 30), **post)
    assert decide(state, second)  # the same minute, no conflict
    # Nor does a post stand in a livestream's way.
    later = schedule(
        "Livestream: hỏi đáp", start=(20, 15), minutes=30, kind=AiringKind.livestream, resource_id=page
    )
    state = fold(decide(state, second), state)
    with pytest.raises(Conflict) as err:
        decide(state, later)
    assert [c.airing_id for c in err.value.in_the_way] == [live.airing_id]


def test_only_pages_carry_posts():
    with pytest.raises(InvalidCommand) as err:
        check_kind(LOA_EA_TU, ResourceType.commune, AiringKind.post)
    assert "livestream or post" not in str(err.value) and "loudspeaker" in str(err.value)
    check_kind("page:zalo-bhxh-dak-lak", ResourceType.page, AiringKind.post)


def correct(a, outcome=Outcome.missed, **kw) -> CorrectConfirmation:
    fields = dict(
        airing_id=a.airing_id,
        outcome=outcome,
        why="sổ nhật ký ghi nhầm",
        corrected_by="Y Bơ Êban",
        corrected_at=at(9, day=8),
        reason="mất điện cả buổi chiều",
    )
    return CorrectConfirmation(**(fields | kw))


def test_a_second_confirmation_with_another_outcome_is_refused_naming_the_first():
    a = schedule()
    state, _ = given(a, confirm(a))
    with pytest.raises(InvalidTransition) as err:
        decide(state, confirm(a, Outcome.missed, reason="mất điện", actual_start=None, actual_end=None))
    assert "already confirmed aired" in str(err.value) and "/correction" in str(err.value)


def test_a_correction_records_who_when_why_and_the_latest_record_counts():
    a = schedule()
    state, _ = given(a, confirm(a))
    [event] = decide(state, correct(a))
    assert isinstance(event, ConfirmationCorrected)
    assert (event.previous_outcome, event.outcome, event.why) == (
        Outcome.aired,
        Outcome.missed,
        "sổ nhật ký ghi nhầm",
    )
    state = fold([event], state)
    assert state.airings[a.airing_id].status is Status.missed
    assert decide(state, correct(a)) == []  # a retried correction adds nothing
    # The corrected record is now the one a confirmation is compared with.
    assert (
        decide(
            state,
            confirm(a, Outcome.missed, reason="mất điện cả buổi chiều", actual_start=None, actual_end=None),
        )
        == []
    )


def test_a_correction_needs_a_confirmation_a_why_and_a_reason_for_a_miss():
    a = schedule()
    state, _ = given(a)
    with pytest.raises(InvalidTransition):
        decide(state, correct(a))
    state, _ = given(a, confirm(a))
    with pytest.raises(InvalidCommand) as err:
        decide(state, correct(a, why=" "))
    assert err.value.field == "why"
    with pytest.raises(InvalidCommand) as err:
        decide(state, correct(a, reason=None))
    assert err.value.field == "reason"


def test_a_makeup_names_a_missed_airing_on_the_resource_once():
    missed, other = schedule(day=7), schedule(day=8)
    state, _ = given(
        missed, other, confirm(missed, Outcome.missed, reason="mất điện", actual_start=None, actual_end=None)
    )
    makeup = schedule(day=9, makeup_of=missed.airing_id)
    [event] = decide(state, makeup)
    assert event.makeup_of == missed.airing_id
    state = fold([event], state)
    with pytest.raises(InvalidCommand) as err:
        decide(state, schedule(day=10, makeup_of=missed.airing_id))
    assert err.value.field == "makeup_of" and "already made up" in str(err.value)
    with pytest.raises(InvalidCommand) as err:
        decide(state, schedule(day=10, makeup_of=other.airing_id))
    assert "not missed" in str(err.value)
    with pytest.raises(InvalidCommand):
        decide(state, schedule(day=10, makeup_of=uuid4()))
    # A made-up miss stays missed: a correction to aired is refused.
    with pytest.raises(InvalidTransition):
        decide(state, correct(missed, Outcome.aired, reason=None))


def test_a_livestream_after_the_fact_keeps_its_real_times_on_its_day_and_never_in_the_future():
    page = "page:facebook-bhxh-dak-lak"
    live = schedule("Livestream", start=(20, 0), minutes=60, kind=AiringKind.livestream, resource_id=page)
    state, _ = given(live)
    years_later = at(9, day=20) + timedelta(days=3 * 365)

    def refused(command) -> str:
        with pytest.raises(InvalidCommand) as err:
            decide(state, command)
        return err.value.field

    # the next day, in the future, today's clock on a past livestream
    assert refused(GoLive(live.airing_id, "op", at(20, 2, day=8), received_at=years_later)) == "at"
    assert refused(GoLive(live.airing_id, "op", at(20, 2), received_at=at(19, 0))) == "at"  # in the future
    assert refused(GoLive(live.airing_id, "op", years_later, received_at=years_later)) == "at"
    [went] = decide(state, GoLive(live.airing_id, "op", at(20, 2), received_at=years_later))
    state = fold([went], state)
    assert refused(EndLivestream(live.airing_id, "op", at(19, 0), received_at=years_later)) == "at"
    # An overrun past midnight still ends on its night.
    [ended] = decide(state, EndLivestream(live.airing_id, "op", at(0, 30, day=8), received_at=years_later))
    assert ended.at == at(0, 30, day=8)


# -- bumped airings that can come back ------------------------------------------------


def _storm_over(*airings, start=(17, 35), minutes=20):
    """A schedule where an emergency bulletin bumped ``airings``, and the emergency."""
    storm = schedule("Khẩn cấp: bão số 3", start=start, minutes=minutes, priority=Priority.emergency)
    state, _ = given(*airings, storm)
    return state, storm


def test_a_bumped_airing_remembers_the_emergency_and_its_status_before():
    a = schedule("Bản tin BHYT", start=(17, 30))
    storm = schedule("Khẩn cấp: bão số 3", start=(17, 35), minutes=20, priority=Priority.emergency)
    state, _ = given(a, RescheduleAiring(a.airing_id, at(17, 40), at(17, 55)), storm)
    bumped = state.airings[a.airing_id]
    assert (bumped.status, bumped.bumped_by, bumped.before_bump) == (
        Status.bumped,
        storm.airing_id,
        Status.rescheduled,
    )


def test_cancelling_the_emergency_then_restoring_gives_every_bumped_airing_its_slot_back():
    a = schedule("Bản tin BHYT", start=(17, 30))
    b = schedule("Bản tin BHXH tự nguyện", start=(17, 45))
    state, storm = _storm_over(a, b)
    state = fold(decide(state, CancelAiring(storm.airing_id, "bão đổi hướng")), state)
    restoration = restore_bumped(state, RestoreBumped(storm.airing_id))
    assert [type(e) for e in restoration.events] == [AiringRestored, AiringRestored]
    assert {e.airing_id for e in restoration.events} == {a.airing_id, b.airing_id}
    assert all(e.status == "scheduled" and e.bumped_by == storm.airing_id for e in restoration.events)
    assert [(i.airing.airing_id, i.result) for i in restoration.items] == [
        (a.airing_id, "restored"),
        (b.airing_id, "restored"),
    ]
    after = fold(restoration.events, state)
    assert after.airings[a.airing_id].status is Status.scheduled
    # The restored airings hold their windows again: a normal airing over them is refused.
    with pytest.raises(Conflict) as err:
        decide(after, schedule("Bản tin khác", start=(17, 50)))
    assert {w.airing_id for w in err.value.in_the_way} == {b.airing_id}
    # A retry restores nothing twice and says why.
    again = restore_bumped(after, RestoreBumped(storm.airing_id))
    assert again.events == [] and {i.result for i in again.items} == {"not_bumped"}
    assert "scheduled" in again.items[0].reason


def test_a_restored_airing_that_was_rescheduled_comes_back_rescheduled():
    a = schedule("Bản tin BHYT", start=(17, 30))
    state, _ = given(a, RescheduleAiring(a.airing_id, at(17, 40), at(17, 55)))
    storm = schedule("Khẩn cấp: bão số 3", start=(17, 35), minutes=20, priority=Priority.emergency)
    state = fold(decide(state, storm), state)
    state = fold(decide(state, CancelAiring(storm.airing_id)), state)
    [event] = restore_bumped(state, RestoreBumped(storm.airing_id)).events
    assert event.status == "rescheduled"
    assert fold([event], state).airings[a.airing_id].status is Status.rescheduled


def test_restoring_refuses_each_airing_whose_slot_is_taken_with_the_reason():
    a = schedule("Bản tin BHYT", start=(17, 30))
    b = schedule("Bản tin BHXH tự nguyện", start=(18, 0))
    state, storm = _storm_over(a, b, start=(17, 30), minutes=45)
    # The emergency ends early (moved to 17:30–17:50): b's slot is free, a's is still taken by it.
    state = fold(decide(state, RescheduleAiring(storm.airing_id, at(17, 30), at(17, 50))), state)
    restoration = restore_bumped(state, RestoreBumped(storm.airing_id))
    by_id = {i.airing.airing_id: i for i in restoration.items}
    assert by_id[b.airing_id].result == "restored"
    refused = by_id[a.airing_id]
    assert refused.result == "refused" and "Khẩn cấp: bão số 3" in refused.reason
    assert [w.airing_id for w in refused.in_the_way] == [storm.airing_id]
    assert [e.airing_id for e in restoration.events] == [b.airing_id]


def test_restoring_refuses_a_slot_the_emergency_aired_over():
    a = schedule("Bản tin BHYT", start=(17, 30))
    state, storm = _storm_over(a)
    aired = ConfirmAiring(storm.airing_id, Outcome.aired, "op", at(18), at(17, 35), at(17, 55))
    state = fold(decide(state, aired), state)
    [item] = restore_bumped(state, RestoreBumped(storm.airing_id)).items
    assert item.result == "refused" and "aired over" in item.reason


def test_restoring_for_an_unknown_airing_is_not_found():
    state, _ = given(schedule())
    with pytest.raises(NotFound):
        restore_bumped(state, RestoreBumped(uuid4()))


def test_a_bumped_airing_can_be_rescheduled_or_cancelled_but_not_confirmed():
    a = schedule("Bản tin BHYT", start=(17, 30))
    b = schedule("Bản tin BHXH tự nguyện", start=(17, 45))
    state, storm = _storm_over(a, b)
    [moved] = decide(state, RescheduleAiring(a.airing_id, at(19), at(19, 15), "sau tin khẩn"))
    assert isinstance(moved, AiringRescheduled) and fold([moved], state).airings[a.airing_id].status is (
        Status.rescheduled
    )
    with pytest.raises(Conflict) as err:  # back into the emergency's window: it is in the way
        decide(state, RescheduleAiring(a.airing_id, at(17, 30), at(17, 45)))
    assert [w.airing_id for w in err.value.in_the_way] == [storm.airing_id]
    [cancelled] = decide(state, CancelAiring(b.airing_id, "không phát lại"))
    assert isinstance(cancelled, AiringCancelled)
    with pytest.raises(InvalidTransition):
        decide(state, confirm(a))
