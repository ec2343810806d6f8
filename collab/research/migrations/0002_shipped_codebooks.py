from django.db import migrations


def install(apps, schema_editor):
    from collab.research.shipped import install as install_shipped

    install_shipped(apps.get_model("research", "Codebook"), apps.get_model("research", "Label"))


class Migration(migrations.Migration):
    dependencies = [("research", "0001_initial")]
    operations = [migrations.RunPython(install, migrations.RunPython.noop)]
