"""`DlnaService`: the MediaServer of one running Couchcast, built from plain parts, started and stopped
with the server (`Runtime.start_dlna`, `Runtime.stop_dlna`; `make_service` builds it for a runtime).

    service.start()   # SSDP on UDP 1900; the HTTP side is the Django views of server.dlna
    ...
    service.stop()    # byebye, socket closed, thread joined

It holds no module-level state: a server's runtime holds it (`Runtime.dlna`, None while off), and
the Django views reach it through `server.runtime.runtime_of(request).dlna`.
"""

from __future__ import annotations

import logging
import platform
import socket
import uuid as uuid_module
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from server.atomic import write_atomically
from server.dlna import description, profiles, soap
from server.dlna.directory import ContentDirectory, LinkPrefix, RefreshDirectory
from server.dlna.soap import SoapFault
from server.dlna.ssdp import SsdpServer
from server.library.folders import Share

if TYPE_CHECKING:
    from server.runtime import Runtime

log = logging.getLogger(__name__)

UUID_FILE = "dlna-uuid"
VERSION = "0.1"
# The viewer named in the signed links a TV gets (the conversion scheduler tells viewers apart by it).
DLNA_VIEWER = "dlna"


def default_friendly_name() -> str:
    """ "Couchcast on <computer name>", the name a TV lists."""
    name = socket.gethostname().split(".")[0] or platform.node() or "this computer"
    return f"Couchcast on {name}"


def stable_uuid(data_dir: Path) -> str:
    """The device's UUID, made once and kept in the data dir: a TV that remembers the server (its
    last folder, its place in a film) finds the same device after a restart."""
    path = Path(data_dir) / UUID_FILE
    try:
        return str(uuid_module.UUID(path.read_text(encoding="ascii").strip()))
    except (OSError, ValueError):
        pass
    made = str(uuid_module.uuid4())
    try:
        write_atomically(path, made + "\n")
    except OSError as exc:
        log.warning("The DLNA device id could not be saved (%s): TVs will see a new device next time", exc)
    return made


def make_service(runtime: Runtime, http_port: int, http_host: str = "0.0.0.0") -> DlnaService:
    """A service over one server's shares, with per-file links signed by its access key."""
    from server.access import links

    def link_prefix(folder_id: int, relpath: str) -> str:
        return links.LINK_PREFIX + links.token(runtime.access_key, folder_id, relpath, DLNA_VIEWER)

    return DlnaService(
        shares=lambda: [share for share in runtime.shares.shared() if share.available],
        refresh_directory=runtime.index.refresh_directory,
        link_prefix=link_prefix,
        http_port=http_port,
        friendly_name=default_friendly_name(),
        uuid=stable_uuid(runtime.dirs.data),
        http_host=http_host,
    )


class DlnaService:
    """The DLNA MediaServer: SSDP on its own thread; description and control answered for the views."""

    def __init__(
        self,
        *,
        shares: Callable[[], list[Share]],
        refresh_directory: RefreshDirectory,
        link_prefix: LinkPrefix,
        http_port: int,
        friendly_name: str,
        uuid: str,
        http_host: str = "0.0.0.0",
        ssdp_port: int = 1900,
    ) -> None:
        self.friendly_name = friendly_name
        self.uuid = uuid
        self.directory = ContentDirectory(shares, link_prefix, friendly_name, refresh_directory)
        self.ssdp = SsdpServer(
            uuid=uuid,
            http_port=http_port,
            description_path=description.DESCRIPTION_PATH,
            server_header=f"{platform.system() or 'OS'}/{platform.release() or '1'} UPnP/1.0 "
            f"Couchcast/{VERSION}",
            http_host=http_host,
            port=ssdp_port,
        )
        self._description = description.device_description(friendly_name, uuid, VERSION)

    def start(self) -> None:
        """Start announcing. Raises OSError when the SSDP port cannot be opened."""
        self.ssdp.start()
        log.info("DLNA: announcing %s (uuid:%s)", self.friendly_name, self.uuid)

    def stop(self) -> None:
        self.ssdp.stop()

    def device_description(self) -> bytes:
        return self._description

    def control(
        self, service_name: str, body: bytes, soapaction: str | None, base_url: str
    ) -> tuple[int, bytes]:
        """(HTTP status, SOAP body) for a control request to one service."""
        service_type = description.SERVICES[service_name][0]
        try:
            call = soap.parse_call(body, soapaction)
            if call.service_type != service_type or call.action not in description.ACTIONS[service_type]:
                raise SoapFault(soap.INVALID_ACTION, "This service has no such action")
            out = self._act(call, base_url)
            return 200, soap.response(service_type, call.action, out)
        except SoapFault as error:
            return soap.FAULT_STATUS, soap.fault(error)
        except Exception:
            # Never a trace to the control point: the protocol's own words for "it went wrong here".
            log.exception("DLNA: %s failed", service_name)
            return soap.FAULT_STATUS, soap.fault(SoapFault(soap.ACTION_FAILED, "Action failed"))

    def _act(self, call: soap.Call, base_url: str) -> list[tuple[str, object]]:
        arguments = call.arguments
        if call.action == "Browse":
            for name in ("Filter", "SortCriteria"):
                soap.required(arguments, name)  # their absence is 402; their value is not checked
            result = self.directory.browse(
                soap.required(arguments, "ObjectID"),
                soap.required(arguments, "BrowseFlag"),
                soap.unsigned(arguments, "StartingIndex"),
                soap.unsigned(arguments, "RequestedCount"),
                arguments["SortCriteria"],
                base_url,
            )
            return [
                ("Result", result.didl),
                ("NumberReturned", result.returned),
                ("TotalMatches", result.total),
                ("UpdateID", self.directory.system_update_id()),
            ]
        if call.action == "GetSearchCapabilities":
            return [("SearchCaps", "")]
        if call.action == "GetSortCapabilities":
            return [("SortCaps", "dc:title")]
        if call.action == "GetSystemUpdateID":
            return [("Id", self.directory.system_update_id())]
        if call.action == "GetProtocolInfo":
            return [("Source", profiles.source_protocols()), ("Sink", "")]
        if call.action == "GetCurrentConnectionIDs":
            return [("ConnectionIDs", "0")]
        if call.action == "GetCurrentConnectionInfo":
            connection = soap.required(arguments, "ConnectionID").strip()
            if connection != "0":
                raise SoapFault(soap.INVALID_CONNECTION_REFERENCE, "Invalid connection reference")
            return [
                ("RcsID", -1),
                ("AVTransportID", -1),
                ("ProtocolInfo", ""),
                ("PeerConnectionManager", ""),
                ("PeerConnectionID", -1),
                ("Direction", "Output"),
                ("Status", "OK"),
            ]
        raise SoapFault(soap.INVALID_ACTION, "This service has no such action")
