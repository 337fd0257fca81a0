"""Background jobs of certifications: the certificates' PDFs."""

from __future__ import annotations

from django_tasks import task


@task()
def make_certificates(award_ids: list[int]) -> int:
    """Make the PDF of each award's current number (idempotent)."""
    from certifications import certificates

    return sum(1 for pk in award_ids if certificates.certificate_make(award_id=pk))


@task()
def run_bulk_job(job_id: int) -> str:
    """A bulk assign/issue/revoke with live progress (``services.bulk_job_run``)."""
    from certifications import services

    job = services.bulk_job_run(job_id=job_id)
    return job.status if job else "skipped"
