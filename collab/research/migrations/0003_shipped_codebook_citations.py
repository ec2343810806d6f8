from django.db import migrations


def refresh(apps, schema_editor):
    """The shipped codebooks now cite authors, year and the paper's URL;
    databases made before get them (install refreshes rows by key)."""
    from collab.research.shipped import install as install_shipped

    install_shipped(apps.get_model("research", "Codebook"), apps.get_model("research", "Label"))


class Migration(migrations.Migration):
    dependencies = [("research", "0002_shipped_codebooks")]
    operations = [migrations.RunPython(refresh, migrations.RunPython.noop)]
