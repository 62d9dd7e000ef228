"""Bolus calculator: a pure function from meal, glucose and settings to a suggestion.

suggestion = carbs / ICR + (BG - target) / ISF - IOB, in integer milliunits (mU), with
these rules, applied in this order:
  - carb part: carbs_g * 10 * 1000 // icr_dg_per_u (rounded down).
  - correction: (BG - target) * 1000 / ISF truncated toward zero; negative when BG is
    below target; zero when no BG is given.
  - IOB offsets only a positive correction and cannot make it negative; IOB left over
    does NOT reduce the carb part (active insulin covers highs, not the food being
    eaten). A negative correction (BG below target) does reduce the carb part.
  - total = carb + correction - IOB used, floored at 0, rounded DOWN to increment_mu.
  - BG below 70 mg/dL: nothing is suggested; the low must be treated first.
  - a rounded total above max_bolus_mu is capped at max_bolus_mu rounded down to the
    increment, and flagged.
It only suggests: nothing here delivers, and it never returns more than max_bolus_mu.
"""

from pump.compat import const
from pump.errors import check_int

LOW_BG_MGDL = const(70)
LOW_BG_NOTE = "BG below 70 mg/dL: treat the low, no bolus suggested"
CAPPED_NOTE = "capped at the maximum bolus"


class Suggestion:
    """The result and its breakdown, so a screen can show where the number came from.

    total_mu = carb_mu + correction_mu - iob_used_mu, floored at 0, before rounding,
    capping and the low-BG rule; suggested_mu is what may be offered to the user.
    """

    __slots__ = (
        "carb_mu",
        "correction_mu",
        "iob_used_mu",
        "total_mu",
        "suggested_mu",
        "capped",
        "note",
    )

    def __init__(self, carb_mu, correction_mu, iob_used_mu, total_mu, suggested_mu, capped, note):
        self.carb_mu = carb_mu
        self.correction_mu = correction_mu  # before IOB; negative when BG is below target
        self.iob_used_mu = iob_used_mu  # the part of IOB that offset the correction
        self.total_mu = total_mu
        self.suggested_mu = suggested_mu
        self.capped = capped
        self.note = note

    def __repr__(self):
        return (
            "Suggestion(carb_mu=%d, correction_mu=%d, iob_used_mu=%d, total_mu=%d, "
            "suggested_mu=%d, capped=%r, note=%r)"
            % (
                self.carb_mu,
                self.correction_mu,
                self.iob_used_mu,
                self.total_mu,
                self.suggested_mu,
                self.capped,
                self.note,
            )
        )


def _div_trunc(num, den):
    # Division truncated toward zero (den > 0); Python's // floors, which for a
    # negative correction would round away from zero and over-reduce the bolus.
    if num < 0:
        return -((-num) // den)
    return num // den


def suggest_bolus(
    carbs_g, bg_mgdl, icr_dg_per_u, isf_mgdl_per_u, target_mgdl, iob_mu, max_bolus_mu, increment_mu
):
    """Suggest a bolus in mU; see the module docstring for the rules.

    carbs_g 0..300; bg_mgdl 20..600 or None (no correction); icr_dg_per_u 10..1500
    (tenths of g per U); isf_mgdl_per_u 5..400; target_mgdl 70..200; iob_mu >= 0;
    max_bolus_mu >= 0; increment_mu >= 1. Raises ValueError naming a bad field.
    """
    check_int(carbs_g, "carbs_g", 0, 300)
    if bg_mgdl is not None:
        check_int(bg_mgdl, "bg_mgdl", 20, 600)
    check_int(icr_dg_per_u, "icr_dg_per_u", 10, 1500)
    check_int(isf_mgdl_per_u, "isf_mgdl_per_u", 5, 400)
    check_int(target_mgdl, "target_mgdl", 70, 200)
    check_int(iob_mu, "iob_mu", 0, None)
    check_int(max_bolus_mu, "max_bolus_mu", 0, None)
    check_int(increment_mu, "increment_mu", 1, None)

    # ICR is in tenths of a gram per unit, hence the extra factor of 10.
    carb_mu = carbs_g * 10 * 1000 // icr_dg_per_u
    if bg_mgdl is None:
        correction_mu = 0
    else:
        correction_mu = _div_trunc((bg_mgdl - target_mgdl) * 1000, isf_mgdl_per_u)
    iob_used_mu = min(iob_mu, correction_mu) if correction_mu > 0 else 0
    total_mu = max(0, carb_mu + correction_mu - iob_used_mu)

    if bg_mgdl is not None and bg_mgdl < LOW_BG_MGDL:
        return Suggestion(carb_mu, correction_mu, iob_used_mu, total_mu, 0, False, LOW_BG_NOTE)

    # Rounding down: the pump cannot deliver a fraction of an increment, and the safe
    # direction for an insulin dose is less.
    suggested_mu = total_mu // increment_mu * increment_mu
    capped = False
    note = ""
    if suggested_mu > max_bolus_mu:
        suggested_mu = max_bolus_mu // increment_mu * increment_mu
        capped = True
        note = CAPPED_NOTE
    return Suggestion(carb_mu, correction_mu, iob_used_mu, total_mu, suggested_mu, capped, note)
