"""A UPnP AV MediaServer (DLNA) for TVs and players that browse the network instead of opening a link.

Off unless asked for. The parts: `ssdp` (announcements and answers to searches on UDP 1900),
`description` (the device and service descriptions), `soap` (the control messages), `directory`
(ContentDirectory's Browse over the shared folders), `didl` and `profiles` (what each item says
about itself), `service` (`DlnaService`, which holds them together), and the Django views.
"""
