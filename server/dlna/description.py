"""The device description and the two service descriptions (SCPD) a control point reads first.

The URLs in them are relative (UDA 1.0, 2.1: resolved against the description's own URL), so one
text answers on every address the computer has.
"""

from __future__ import annotations

from server.dlna.soap import text

DEVICE_TYPE = "urn:schemas-upnp-org:device:MediaServer:1"
CONTENT_DIRECTORY = "urn:schemas-upnp-org:service:ContentDirectory:1"
CONNECTION_MANAGER = "urn:schemas-upnp-org:service:ConnectionManager:1"
SERVICE_TYPES = (CONTENT_DIRECTORY, CONNECTION_MANAGER)
# The URL path of each service's parts: (name in URLs, service type, service id).
SERVICES = {
    "ContentDirectory": (CONTENT_DIRECTORY, "urn:upnp-org:serviceId:ContentDirectory"),
    "ConnectionManager": (CONNECTION_MANAGER, "urn:upnp-org:serviceId:ConnectionManager"),
}
DESCRIPTION_PATH = "/dlna/description.xml"


def device_description(friendly_name: str, uuid: str, version: str) -> bytes:
    services = "".join(
        f"<service><serviceType>{service_type}</serviceType><serviceId>{service_id}</serviceId>"
        f"<SCPDURL>/dlna/{name}.xml</SCPDURL><controlURL>/dlna/control/{name}</controlURL>"
        f"<eventSubURL>/dlna/event/{name}</eventSubURL></service>"
        for name, (service_type, service_id) in SERVICES.items()
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<root xmlns="urn:schemas-upnp-org:device-1-0" xmlns:dlna="urn:schemas-dlna-org:device-1-0">'
        "<specVersion><major>1</major><minor>0</minor></specVersion>"
        f"<device><deviceType>{DEVICE_TYPE}</deviceType>"
        f"<friendlyName>{text(friendly_name)}</friendlyName>"
        "<manufacturer>Couchcast</manufacturer><modelDescription>Couchcast media server</modelDescription>"
        f"<modelName>Couchcast</modelName><modelNumber>{text(version)}</modelNumber>"
        f"<UDN>uuid:{text(uuid)}</UDN>"
        '<dlna:X_DLNADOC xmlns:dlna="urn:schemas-dlna-org:device-1-0">DMS-1.50</dlna:X_DLNADOC>'
        f"<serviceList>{services}</serviceList></device></root>"
    ).encode()


# (name, data type, allowed values, sends events) per state variable; (name, [(argument, direction,
# state variable)]) per action. Only what is implemented is listed: a control point may call Search
# only when the description has it, so its absence is the answer (and calling it is 401).
_CONTENT_DIRECTORY_VARIABLES = [
    ("A_ARG_TYPE_ObjectID", "string", None, False),
    ("A_ARG_TYPE_Result", "string", None, False),
    ("A_ARG_TYPE_BrowseFlag", "string", ("BrowseMetadata", "BrowseDirectChildren"), False),
    ("A_ARG_TYPE_Filter", "string", None, False),
    ("A_ARG_TYPE_SortCriteria", "string", None, False),
    ("A_ARG_TYPE_Index", "ui4", None, False),
    ("A_ARG_TYPE_Count", "ui4", None, False),
    ("A_ARG_TYPE_UpdateID", "ui4", None, False),
    ("SearchCapabilities", "string", None, False),
    ("SortCapabilities", "string", None, False),
    ("SystemUpdateID", "ui4", None, True),
]
_CONTENT_DIRECTORY_ACTIONS = [
    ("GetSearchCapabilities", [("SearchCaps", "out", "SearchCapabilities")]),
    ("GetSortCapabilities", [("SortCaps", "out", "SortCapabilities")]),
    ("GetSystemUpdateID", [("Id", "out", "SystemUpdateID")]),
    (
        "Browse",
        [
            ("ObjectID", "in", "A_ARG_TYPE_ObjectID"),
            ("BrowseFlag", "in", "A_ARG_TYPE_BrowseFlag"),
            ("Filter", "in", "A_ARG_TYPE_Filter"),
            ("StartingIndex", "in", "A_ARG_TYPE_Index"),
            ("RequestedCount", "in", "A_ARG_TYPE_Count"),
            ("SortCriteria", "in", "A_ARG_TYPE_SortCriteria"),
            ("Result", "out", "A_ARG_TYPE_Result"),
            ("NumberReturned", "out", "A_ARG_TYPE_Count"),
            ("TotalMatches", "out", "A_ARG_TYPE_Count"),
            ("UpdateID", "out", "A_ARG_TYPE_UpdateID"),
        ],
    ),
]
_CONNECTION_MANAGER_VARIABLES = [
    ("SourceProtocolInfo", "string", None, True),
    ("SinkProtocolInfo", "string", None, True),
    ("CurrentConnectionIDs", "string", None, True),
    (
        "A_ARG_TYPE_ConnectionStatus",
        "string",
        ("OK", "ContentFormatMismatch", "InsufficientBandwidth", "UnreliableChannel", "Unknown"),
        False,
    ),
    ("A_ARG_TYPE_ConnectionManager", "string", None, False),
    ("A_ARG_TYPE_Direction", "string", ("Input", "Output"), False),
    ("A_ARG_TYPE_ProtocolInfo", "string", None, False),
    ("A_ARG_TYPE_ConnectionID", "i4", None, False),
    ("A_ARG_TYPE_AVTransportID", "i4", None, False),
    ("A_ARG_TYPE_RcsID", "i4", None, False),
]
_CONNECTION_MANAGER_ACTIONS = [
    ("GetProtocolInfo", [("Source", "out", "SourceProtocolInfo"), ("Sink", "out", "SinkProtocolInfo")]),
    ("GetCurrentConnectionIDs", [("ConnectionIDs", "out", "CurrentConnectionIDs")]),
    (
        "GetCurrentConnectionInfo",
        [
            ("ConnectionID", "in", "A_ARG_TYPE_ConnectionID"),
            ("RcsID", "out", "A_ARG_TYPE_RcsID"),
            ("AVTransportID", "out", "A_ARG_TYPE_AVTransportID"),
            ("ProtocolInfo", "out", "A_ARG_TYPE_ProtocolInfo"),
            ("PeerConnectionManager", "out", "A_ARG_TYPE_ConnectionManager"),
            ("PeerConnectionID", "out", "A_ARG_TYPE_ConnectionID"),
            ("Direction", "out", "A_ARG_TYPE_Direction"),
            ("Status", "out", "A_ARG_TYPE_ConnectionStatus"),
        ],
    ),
]


def _scpd(actions: list, variables: list) -> bytes:
    action_list = "".join(
        f"<action><name>{name}</name><argumentList>"
        + "".join(
            f"<argument><name>{argument}</name><direction>{direction}</direction>"
            f"<relatedStateVariable>{variable}</relatedStateVariable></argument>"
            for argument, direction, variable in arguments
        )
        + "</argumentList></action>"
        for name, arguments in actions
    )
    state = "".join(
        f'<stateVariable sendEvents="{"yes" if events else "no"}"><name>{name}</name>'
        f"<dataType>{data_type}</dataType>"
        + (
            "<allowedValueList>"
            + "".join(f"<allowedValue>{v}</allowedValue>" for v in allowed)
            + "</allowedValueList>"
            if allowed
            else ""
        )
        + "</stateVariable>"
        for name, data_type, allowed, events in variables
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<scpd xmlns="urn:schemas-upnp-org:service-1-0">'
        f"<specVersion><major>1</major><minor>0</minor></specVersion><actionList>{action_list}</actionList>"
        f"<serviceStateTable>{state}</serviceStateTable></scpd>"
    ).encode()


SCPD = {
    "ContentDirectory": _scpd(_CONTENT_DIRECTORY_ACTIONS, _CONTENT_DIRECTORY_VARIABLES),
    "ConnectionManager": _scpd(_CONNECTION_MANAGER_ACTIONS, _CONNECTION_MANAGER_VARIABLES),
}
# The actions each service answers, with the names of their arguments in and out.
ACTIONS = {
    SERVICES[name][0]: {action: arguments for action, arguments in actions}
    for name, actions in (
        ("ContentDirectory", _CONTENT_DIRECTORY_ACTIONS),
        ("ConnectionManager", _CONNECTION_MANAGER_ACTIONS),
    )
}
