""" Contains all the data models used in inputs/outputs """

from .address_in import AddressIn
from .address_read import AddressRead
from .audit_entry import AuditEntry
from .batch_item_error import BatchItemError
from .batch_item_result import BatchItemResult
from .bulk_retry_request import BulkRetryRequest
from .bulk_retry_result import BulkRetryResult
from .call_read import CallRead
from .circuit_read import CircuitRead
from .circuits_read import CircuitsRead
from .circuits_read_circuits import CircuitsReadCircuits
from .compensation_problem_read import CompensationProblemRead
from .compensation_read import CompensationRead
from .consumption_read import ConsumptionRead
from .coordinates_in import CoordinatesIn
from .coordinates_read import CoordinatesRead
from .created_ref import CreatedRef
from .created_site import CreatedSite
from .currency import Currency
from .customer_batch import CustomerBatch
from .customer_batch_result import CustomerBatchResult
from .customer_create import CustomerCreate
from .customer_created import CustomerCreated
from .customer_created_programmes import CustomerCreatedProgrammes
from .customer_created_sync import CustomerCreatedSync
from .customer_read import CustomerRead
from .customer_read_programmes import CustomerReadProgrammes
from .customer_read_sync import CustomerReadSync
from .customer_update import CustomerUpdate
from .delivery_read import DeliveryRead
from .device_create import DeviceCreate
from .device_energy_usage_create import DeviceEnergyUsageCreate
from .device_kind import DeviceKind
from .device_read import DeviceRead
from .device_read_sync import DeviceReadSync
from .device_update import DeviceUpdate
from .dismiss_request import DismissRequest
from .dismissal_read import DismissalRead
from .eligibility_read import EligibilityRead
from .energy_point import EnergyPoint
from .energy_point_read import EnergyPointRead
from .energy_unit import EnergyUnit
from .energy_usage_create import EnergyUsageCreate
from .energy_usage_plan_create import EnergyUsagePlanCreate
from .enroll_request import EnrollRequest
from .enrollment_read import EnrollmentRead
from .enrollment_update import EnrollmentUpdate
from .entity_type import EntityType
from .event_notification import EventNotification
from .event_read import EventRead
from .event_read_payload import EventReadPayload
from .event_target import EventTarget
from .health_live_live_response_200 import HealthLiveLiveResponse200
from .ingest_result import IngestResult
from .invite_create import InviteCreate
from .invite_read import InviteRead
from .invite_status import InviteStatus
from .item_error import ItemError
from .location_lpc_payload import LocationLPCPayload
from .location_lpc_payload_payload_type import LocationLPCPayloadPayloadType
from .location_lpc_target import LocationLPCTarget
from .lpc_answer import LpcAnswer
from .lpc_data_point import LPCDataPoint
from .lpc_reservation_payload import LPCReservationPayload
from .lpc_reservation_payload_payload_type import LPCReservationPayloadPayloadType
from .medium import Medium
from .membership_read import MembershipRead
from .meter_point_eligibility_read import MeterPointEligibilityRead
from .notification_type import NotificationType
from .page_audit_entry import PageAuditEntry
from .page_call_read import PageCallRead
from .page_consumption_read import PageConsumptionRead
from .page_customer_read import PageCustomerRead
from .page_delivery_read import PageDeliveryRead
from .page_device_read import PageDeviceRead
from .page_energy_point_read import PageEnergyPointRead
from .page_event_read import PageEventRead
from .page_invite_read import PageInviteRead
from .page_reading_read import PageReadingRead
from .page_report_read import PageReportRead
from .page_site_read import PageSiteRead
from .page_subscription_read import PageSubscriptionRead
from .page_task_read import PageTaskRead
from .price_area import PriceArea
from .price_curve import PriceCurve
from .price_curve_payload import PriceCurvePayload
from .price_curve_payload_payload_type import PriceCurvePayloadPayloadType
from .price_curve_point import PriceCurvePoint
from .price_curve_target import PriceCurveTarget
from .problem import Problem
from .programme_read import ProgrammeRead
from .programme_status import ProgrammeStatus
from .provider import Provider
from .provider_sync import ProviderSync
from .reading_delivery import ReadingDelivery
from .reading_delivery_status import ReadingDeliveryStatus
from .reading_read import ReadingRead
from .readings_body import ReadingsBody
from .received import Received
from .report_read import ReportRead
from .report_read_body import ReportReadBody
from .report_status import ReportStatus
from .resolution import Resolution
from .resource_lpc_payload import ResourceLPCPayload
from .resource_lpc_payload_payload_type import ResourceLPCPayloadPayloadType
from .resource_lpc_target import ResourceLPCTarget
from .resync_request import ResyncRequest
from .site_compensation import SiteCompensation
from .site_compensation_read import SiteCompensationRead
from .site_create import SiteCreate
from .site_created import SiteCreated
from .site_created_compensation import SiteCreatedCompensation
from .site_created_sync import SiteCreatedSync
from .site_kind import SiteKind
from .site_read import SiteRead
from .site_read_compensation import SiteReadCompensation
from .site_read_sync import SiteReadSync
from .site_update import SiteUpdate
from .space_category import SpaceCategory
from .subscription_create import SubscriptionCreate
from .subscription_created import SubscriptionCreated
from .subscription_read import SubscriptionRead
from .sync_status import SyncStatus
from .task_read import TaskRead
from .user_eligibility_payload import UserEligibilityPayload
from .user_eligibility_payload_payload_type import UserEligibilityPayloadPayloadType
from .vehicle_create import VehicleCreate

__all__ = (
    "AddressIn",
    "AddressRead",
    "AuditEntry",
    "BatchItemError",
    "BatchItemResult",
    "BulkRetryRequest",
    "BulkRetryResult",
    "CallRead",
    "CircuitRead",
    "CircuitsRead",
    "CircuitsReadCircuits",
    "CompensationProblemRead",
    "CompensationRead",
    "ConsumptionRead",
    "CoordinatesIn",
    "CoordinatesRead",
    "CreatedRef",
    "CreatedSite",
    "Currency",
    "CustomerBatch",
    "CustomerBatchResult",
    "CustomerCreate",
    "CustomerCreated",
    "CustomerCreatedProgrammes",
    "CustomerCreatedSync",
    "CustomerRead",
    "CustomerReadProgrammes",
    "CustomerReadSync",
    "CustomerUpdate",
    "DeliveryRead",
    "DeviceCreate",
    "DeviceEnergyUsageCreate",
    "DeviceKind",
    "DeviceRead",
    "DeviceReadSync",
    "DeviceUpdate",
    "DismissalRead",
    "DismissRequest",
    "EligibilityRead",
    "EnergyPoint",
    "EnergyPointRead",
    "EnergyUnit",
    "EnergyUsageCreate",
    "EnergyUsagePlanCreate",
    "EnrollmentRead",
    "EnrollmentUpdate",
    "EnrollRequest",
    "EntityType",
    "EventNotification",
    "EventRead",
    "EventReadPayload",
    "EventTarget",
    "HealthLiveLiveResponse200",
    "IngestResult",
    "InviteCreate",
    "InviteRead",
    "InviteStatus",
    "ItemError",
    "LocationLPCPayload",
    "LocationLPCPayloadPayloadType",
    "LocationLPCTarget",
    "LpcAnswer",
    "LPCDataPoint",
    "LPCReservationPayload",
    "LPCReservationPayloadPayloadType",
    "Medium",
    "MembershipRead",
    "MeterPointEligibilityRead",
    "NotificationType",
    "PageAuditEntry",
    "PageCallRead",
    "PageConsumptionRead",
    "PageCustomerRead",
    "PageDeliveryRead",
    "PageDeviceRead",
    "PageEnergyPointRead",
    "PageEventRead",
    "PageInviteRead",
    "PageReadingRead",
    "PageReportRead",
    "PageSiteRead",
    "PageSubscriptionRead",
    "PageTaskRead",
    "PriceArea",
    "PriceCurve",
    "PriceCurvePayload",
    "PriceCurvePayloadPayloadType",
    "PriceCurvePoint",
    "PriceCurveTarget",
    "Problem",
    "ProgrammeRead",
    "ProgrammeStatus",
    "Provider",
    "ProviderSync",
    "ReadingDelivery",
    "ReadingDeliveryStatus",
    "ReadingRead",
    "ReadingsBody",
    "Received",
    "ReportRead",
    "ReportReadBody",
    "ReportStatus",
    "Resolution",
    "ResourceLPCPayload",
    "ResourceLPCPayloadPayloadType",
    "ResourceLPCTarget",
    "ResyncRequest",
    "SiteCompensation",
    "SiteCompensationRead",
    "SiteCreate",
    "SiteCreated",
    "SiteCreatedCompensation",
    "SiteCreatedSync",
    "SiteKind",
    "SiteRead",
    "SiteReadCompensation",
    "SiteReadSync",
    "SiteUpdate",
    "SpaceCategory",
    "SubscriptionCreate",
    "SubscriptionCreated",
    "SubscriptionRead",
    "SyncStatus",
    "TaskRead",
    "UserEligibilityPayload",
    "UserEligibilityPayloadPayloadType",
    "VehicleCreate",
)
