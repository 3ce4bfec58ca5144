"""Shared model pieces: the BaseModel and the job_run table every nightly job uses."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class BaseModel(models.Model):
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class JobRun(models.Model):
    """One row per (job, business date): the single-run guard and progress record of a night.

    A chunked job splits its work into `JobChunk` rows that workers claim; chunks already
    done are skipped when a run restarts after a crash.
    """

    class Status(models.TextChoices):
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    job = models.CharField(max_length=100)
    business_date = models.DateField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RUNNING)
    attempts = models.PositiveIntegerField(default=0)
    started_at = models.DateTimeField(null=True)
    finished_at = models.DateTimeField(null=True)
    rows_changed = models.BigIntegerField(default=0)
    summary = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["job", "business_date"], name="job_run_one_per_day")]
        ordering = ["-business_date", "job"]

    def __str__(self) -> str:
        return f"{self.job} {self.business_date} {self.status}"


class JobChunk(models.Model):
    """One id range [lo, hi) of a chunked job run, claimed by one worker at a time."""

    run = models.ForeignKey(JobRun, on_delete=models.CASCADE, related_name="chunks")
    lo = models.BigIntegerField()
    hi = models.BigIntegerField()
    done = models.BooleanField(default=False)
    done_at = models.DateTimeField(null=True)
    worker = models.CharField(max_length=200, blank=True)  # host:pid that processed it
    rows_changed = models.BigIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["run", "lo"], name="job_chunk_unique_range")]
        ordering = ["run_id", "lo"]
