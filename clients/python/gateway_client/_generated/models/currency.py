from enum import StrEnum

class Currency(StrEnum):
    DKK = "DKK"
    EUR = "EUR"
    NOK = "NOK"
    SEK = "SEK"

    def __str__(self) -> str:
        return str(self.value)
