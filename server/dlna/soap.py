"""UPnP control messages: a SOAP request read into (action, arguments); answers and faults written.

The request body is outside input. It is at most 64 KiB (`server.connections`), and a SOAP 1.1
message may not hold a document type declaration, so one is refused before parsing: no entity of
any kind is ever expanded. Everything that is not a well-formed call of a known action becomes a
UPnP fault, never an exception that reaches Django.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from xml.sax.saxutils import escape

ENVELOPE_NS = "http://schemas.xmlsoap.org/soap/envelope/"
CONTROL_NS = "urn:schemas-upnp-org:control-1-0"
# UPnP Device Architecture 1.0, 3.2.2: a fault is sent with this status, and control points
# (gupnp, async-upnp-client, TVs) read the UPnPError in the body only then.
FAULT_STATUS = 500
_DOCTYPE = re.compile(rb"<!DOCTYPE", re.IGNORECASE)
_SOAPACTION = re.compile(r'^\s*"?([^"#]+)#([A-Za-z_][\w.-]*)"?\s*$')
# Characters XML 1.0 cannot carry at all, even escaped: dropped from anything written.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


class SoapFault(Exception):
    """A UPnP error for the control point: a code from the UPnP specs and its description."""

    def __init__(self, code: int, description: str) -> None:
        super().__init__(f"{code} {description}")
        self.code = code
        self.description = description


# The codes used here (UPnP Device Architecture 1.0 and ContentDirectory:1, 2.5.4).
INVALID_ACTION = 401
INVALID_ARGS = 402
ACTION_FAILED = 501
ARGUMENT_VALUE_INVALID = 600
NO_SUCH_OBJECT = 701
INVALID_CONNECTION_REFERENCE = 706
CANNOT_PROCESS = 720


@dataclass(frozen=True)
class Call:
    service_type: str
    action: str
    arguments: dict[str, str]


def text(value: object) -> str:
    """`value` as XML character data or attribute text (escaped, unrepresentable characters dropped)."""
    return escape(_NOT_XML.sub("", str(value)), {'"': "&quot;"})


def parse_call(body: bytes, soapaction: str | None) -> Call:
    """The action called by a control request. Raises SoapFault for anything else."""
    if _DOCTYPE.search(body):
        raise SoapFault(INVALID_ACTION, "A SOAP message may not hold a document type declaration")
    try:
        envelope = ET.fromstring(body)
    except ET.ParseError as exc:
        raise SoapFault(INVALID_ACTION, "The request is not well-formed XML") from exc
    body_element = envelope.find(f"{{{ENVELOPE_NS}}}Body")
    if envelope.tag != f"{{{ENVELOPE_NS}}}Envelope" or body_element is None or len(body_element) != 1:
        raise SoapFault(INVALID_ACTION, "The request is not a SOAP envelope holding one action")
    call = body_element[0]
    match = re.fullmatch(r"\{([^}]*)\}(.+)", call.tag)
    if match is None:
        raise SoapFault(INVALID_ACTION, "The action has no service type")
    service_type, action = match.groups()
    if soapaction is not None:
        # The header must name the same action (UDA 1.0, 3.2.1); some control points leave it out.
        header = _SOAPACTION.match(soapaction)
        if header is None or header.groups() != (service_type, action):
            raise SoapFault(INVALID_ACTION, "The SOAPACTION header does not name the action in the body")
    arguments: dict[str, str] = {}
    for argument in call:
        name = argument.tag.rpartition("}")[2]
        if name in arguments or len(argument):
            raise SoapFault(INVALID_ARGS, f"Argument {name} is given twice or is not plain text")
        arguments[name] = argument.text or ""
    return Call(service_type, action, arguments)


def _envelope(body: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        f'<s:Envelope xmlns:s="{ENVELOPE_NS}" s:encodingStyle="http://schemas.xmlsoap.org/soap/encoding/">'
        f"<s:Body>{body}</s:Body></s:Envelope>"
    ).encode()


def response(service_type: str, action: str, out: list[tuple[str, object]]) -> bytes:
    """The answer to an action, its out arguments in the order the service description lists them."""
    values = "".join(f"<{name}>{text(value)}</{name}>" for name, value in out)
    return _envelope(f'<u:{action}Response xmlns:u="{text(service_type)}">{values}</u:{action}Response>')


def fault(error: SoapFault) -> bytes:
    return _envelope(
        "<s:Fault><faultcode>s:Client</faultcode><faultstring>UPnPError</faultstring><detail>"
        f'<UPnPError xmlns="{CONTROL_NS}"><errorCode>{error.code}</errorCode>'
        f"<errorDescription>{text(error.description)}</errorDescription></UPnPError>"
        "</detail></s:Fault>"
    )


def unsigned(arguments: dict[str, str], name: str, *, bits: int = 32) -> int:
    """A ui4 argument; a missing one or one that is not a number is 402 Invalid Args."""
    value = arguments.get(name)
    if value is None:
        raise SoapFault(INVALID_ARGS, f"Argument {name} is missing")
    value = value.strip()
    # Checked by length before int(): Python refuses to convert more than 4,300 digits (ValueError).
    if not value.isascii() or not value.isdigit() or len(value) > 10 or int(value) >= 2**bits:
        raise SoapFault(INVALID_ARGS, f"Argument {name} is not a number from 0 to {2**bits - 1}")
    return int(value)


def required(arguments: dict[str, str], name: str) -> str:
    value = arguments.get(name)
    if value is None:
        raise SoapFault(INVALID_ARGS, f"Argument {name} is missing")
    return value
