"""WhatsApp sessions across several server processes sharing one database and one Redis
(docs/scaling.md). Switched on by ``whatsapp.cluster.enabled``; without it nothing here runs."""
from plugins.whatsapp.cluster.config import ClusterConfigSchema
from plugins.whatsapp.cluster.core import Cluster
from plugins.whatsapp.cluster.forward import FORWARDED, forward

__all__ = ["FORWARDED", "Cluster", "ClusterConfigSchema", "forward"]
