"""The dialing engine's worker: lease, pace, check compliance at the instant of dialing, originate,
follow, record, retry; share limits with other workers; reconcile the calls of dead ones.

    worker = Worker(engine, database_url, WorkerOptions(campaigns=("spring",), until_done=True))
    exit_code = await worker.run(handle_signals=True)
"""

from dialer.worker.campaign import CampaignRunner, CampaignStats
from dialer.worker.options import WorkerOptions
from dialer.worker.process import Worker
from dialer.worker.reconcile import Reconciler
from dialer.worker.registry import make_worker_id

__all__ = ["CampaignRunner", "CampaignStats", "Reconciler", "Worker", "WorkerOptions", "make_worker_id"]
