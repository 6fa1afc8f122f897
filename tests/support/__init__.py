"""What the tests share: helpers and fixtures that test modules import from here, never from
each other. ``server`` (a real server, MariaDB databases, the error shape), ``ws`` (websocket
clients), ``whatsapp`` (sessions through the REST API and the simulator), ``clients`` (the
session manager on its own), ``webui`` (the app in Chromium), ``faults`` and ``mariadb``
(server processes and a MariaDB of a test's own)."""
