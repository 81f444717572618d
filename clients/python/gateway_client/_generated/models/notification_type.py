from enum import StrEnum

class NotificationType(StrEnum):
    LOCATIONLPCREQUESTED = "LocationLPCRequested"
    LPCRESERVATIONCREATED = "LPCReservationCreated"
    PRICECURVECREATED = "PriceCurveCreated"
    RESOURCELPCREQUESTED = "ResourceLPCRequested"
    UNKNOWN = "Unknown"
    USERELIGIBILITYUPDATED = "UserEligibilityUpdated"

    def __str__(self) -> str:
        return str(self.value)
