"""GET /metrics: the app's registry in Prometheus' text format, for allowed callers only."""
from __future__ import annotations

import hmac
import ipaddress

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from server import access, openapi
from server.errors import Forbidden, Unauthorized
from server.handlers import BaseHandler, bearer_token


class MetricsHandler(BaseHandler):
    @access.public  # guarded by metrics.allow and metrics.token instead of a user's token
    @openapi.doc(
        summary="Prometheus metrics",
        description="The server's metrics in Prometheus' text format. Only callers from a `metrics.allow` "
        "network, bearing `metrics.token` when one is set (Authorization: Bearer). Served only with "
        "`metrics.enabled: true`.",
        responses={200: openapi.Response(description="Prometheus text exposition format 0.0.4.",
                                         media_type="text/plain")},
        errors={401: "metrics.token is set and the request does not bear it.",
                403: "The caller's address is not in metrics.allow."},
        tags=["metrics"],
    )
    def get(self) -> None:
        cfg = self.config["metrics"]
        if cfg["allow"] and not self._address_allowed(cfg["allow"]):
            raise Forbidden("Your address may not read the metrics; add it to metrics.allow.")
        if cfg["token"]:
            sent = bearer_token(self.request.headers.get("Authorization")) or ""
            if not hmac.compare_digest(sent.encode(), cfg["token"].encode()):
                raise Unauthorized("Send the metrics token: Authorization: Bearer <metrics.token>.")
        self.set_header("Content-Type", CONTENT_TYPE_LATEST)
        self.set_header("Cache-Control", "no-store")
        self.finish(generate_latest(self.app.state["metrics"]))

    def _address_allowed(self, networks: list[str]) -> bool:
        try:
            address = ipaddress.ip_address(self.request.remote_ip or "")
        except ValueError:
            return False
        if address.version == 6 and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        return any(address in ipaddress.ip_network(network, strict=False) for network in networks)
