"""Verdicts on model suggestions are kept per suggestion, not per event: an
event may carry several suggestions (a multi-label codebook). An old
per-event verdict applied to the event's first suggestion (the one the
coding page's a/r acted on), so it moves there."""

from django.db import migrations, models


def per_suggestion(apps, schema_editor):
    Reviewed = apps.get_model("research", "Reviewed")
    Annotation = apps.get_model("research", "Annotation")
    for row in Reviewed.objects.exclude(suggestion_verdict="").select_related("coder"):
        first = (Annotation.objects.filter(coder__project_id=row.coder.project_id, coder__kind="model",
                                           session_id=row.session_id, seq=row.seq)
                 .order_by("session", "seq", "id").values_list("pk", flat=True).first())
        if first is not None:
            row.suggestion_verdicts = {str(first): row.suggestion_verdict}
            row.save(update_fields=["suggestion_verdicts"])


class Migration(migrations.Migration):

    dependencies = [
        ('research', '0003_shipped_codebook_citations'),
    ]

    operations = [
        migrations.AddField(
            model_name='reviewed',
            name='suggestion_verdicts',
            field=models.JSONField(blank=True, default=dict, help_text='Model suggestion id → accepted / rejected'),
        ),
        migrations.RunPython(per_suggestion, migrations.RunPython.noop),
        migrations.RemoveField(
            model_name='reviewed',
            name='suggestion_verdict',
        ),
    ]
