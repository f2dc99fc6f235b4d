"""Currency symbols for chart axes and short money figures ("$200k"): one table for every chart."""

SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "INR": "₹"}


def money_axis_format(currency: str) -> dict[str, str]:
    """Plotly axis settings that read like the app's short money figures: $200k, $1.2M."""
    found = {"tickformat": "~s"}
    if currency in SYMBOLS:
        found["tickprefix"] = SYMBOLS[currency]
    return found
