"""Campaign progress, pure: the status sets, targets × languages, communes reached (no IO)."""

from datetime import date
from uuid import uuid4

from contracts.events.reference import CampaignDefinition
from services.scheduler.domain.progress import Count, progress, tally

EA_TU, HOA_THANG, BUON_DON = "loudspeaker:xa-ea-tu", "loudspeaker:xa-hoa-thang", "loudspeaker:xa-buon-don"


def definition(**targets) -> CampaignDefinition:
    return CampaignDefinition(
        name="BHYT học sinh, sinh viên",
        province="dak-lak",
        starts_on=date(2023, 8, 1),
        ends_on=date(2023, 8, 31),
        communes=[EA_TU, HOA_THANG, BUON_DON],
        targets=targets,
    )


def test_partial_is_aired_and_shown_gone_is_not_planned():
    t = tally(
        [
            Count(EA_TU, "Kinh", "loudspeaker", "aired", 3),
            Count(EA_TU, "Kinh", "loudspeaker", "partial", 2),
            Count(EA_TU, "Kinh", "loudspeaker", "missed", 1),
            Count(EA_TU, "Kinh", "loudspeaker", "scheduled", 4),
            Count(EA_TU, "Kinh", "loudspeaker", "cancelled", 5),
            Count(EA_TU, "Kinh", "loudspeaker", "bumped", 6),
            Count("page:fb", None, "livestream", "ended", 1),
            Count("page:fb", None, "livestream", "live", 1),
        ]
    )
    assert (t.planned, t.aired, t.partial, t.missed, t.scheduled) == (12, 6, 2, 1, 5)
    assert (t.cancelled, t.bumped, t.livestreams) == (5, 6, 2)


def test_targets_times_languages_and_communes_reached_by_a_partial_airing():
    counts = [
        Count(EA_TU, "Êđê", "loudspeaker", "partial", 1),
        Count(EA_TU, "Kinh", "loudspeaker", "scheduled", 3),
        Count(HOA_THANG, "Kinh", "loudspeaker", "missed", 2),
        Count("loudspeaker:elsewhere", "Kinh", "loudspeaker", "aired", 1),
    ]
    p = progress(
        uuid4(), definition(airings_per_commune=13, languages=["Kinh", "Êđê"]), counts, {EA_TU: "Xã Ea Tu"}
    )
    assert p.target_airings == 13 * 2 * 3
    assert p.communes_targeted == 3 and p.communes_reached == 1  # the aired one is not a target commune
    assert p.totals.aired == 2 and p.by_language["Êđê"].aired == 1 and p.by_language["Kinh"].missed == 2
    assert [c.resource_id for c in p.by_commune] == [EA_TU, HOA_THANG, BUON_DON, "loudspeaker:elsewhere"]
    assert p.by_commune[0].name == "Xã Ea Tu" and p.by_commune[0].target == 26
    assert p.by_commune[2].planned == 0 and p.by_commune[3].target is None


def test_a_made_up_miss_counts_once_as_made_up():
    t = tally(
        [
            Count(EA_TU, "Kinh", "loudspeaker", "missed", 2, made_up=True),
            Count(EA_TU, "Kinh", "loudspeaker", "missed", 1),
            Count(EA_TU, "Kinh", "loudspeaker", "aired", 2),  # the two make-ups
        ]
    )
    assert (t.planned, t.aired, t.missed, t.made_up) == (3, 2, 1, 2)
