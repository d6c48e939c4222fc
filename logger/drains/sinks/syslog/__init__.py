"""The syslog sink: `syslog://`, `syslog+tcp://`, `syslog+tls://`, `syslog+udp://`.

`settings` (SyslogSinkSettings), `encoder` (RFC 5424 messages, RFC 6587
octet counting, the frames an app's drains share), `tcp` (TCP and TLS),
`udp` (RFC 5426 datagrams).
"""
