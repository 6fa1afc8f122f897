"""The metrics the plugin reports itself: the database pool and its timeouts."""
from __future__ import annotations

from typing import Any, Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric


class DatabaseCollector:
    """The pool's connections (``app.db.pool_info()``) and the statements, or waits for a
    connection, that ran out of ``database.query_timeout`` (MySQL only), read at scrape time."""

    def __init__(self, app: Any) -> None:
        self.app = app

    def collect(self) -> Iterator[Metric]:
        db = self.app.db
        if db is None:  # the app is stopping
            return
        pool = db.pool_info()
        connections = GaugeMetricFamily(
            "wamulti_db_pool_connections", "Database connections of this process, in use or idle.", labels=["state"]
        )
        connections.add_metric(["in_use"], max(0, pool["size"] - pool["free"]))
        connections.add_metric(["idle"], pool["free"])
        yield connections
        yield GaugeMetricFamily("wamulti_db_pool_max_connections", "The most connections the pool opens.",
                                value=pool["maxsize"])
        yield CounterMetricFamily(
            "wamulti_db_query_timeouts", "Database statements, or waits for a pooled connection, that took longer "
            "than database.query_timeout (answered 503).", value=getattr(db, "query_timeouts", 0),
        )
