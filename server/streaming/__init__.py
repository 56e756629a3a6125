"""Media bytes over HTTP with RFC 9110 Range semantics, sent without holding a worker thread."""
