"""Milliunit amounts as the text users read: 4500 -> "4.5 U". (pump/parse.py reads them.)"""


def fmt_milli(milli):
    """An integer x1000 as the shortest decimal text: 4500 -> '4.5', 50 -> '0.05', 3000 -> '3'."""
    sign = "-" if milli < 0 else ""
    milli = -milli if milli < 0 else milli
    text = "%d.%03d" % (milli // 1000, milli % 1000)
    while text.endswith("0"):
        text = text[:-1]
    if text.endswith("."):
        text = text[:-1]
    return sign + text


def fmt_u(mu):
    """Milliunits as user text in units: 12000 -> '12 U'."""
    return fmt_milli(mu) + " U"
