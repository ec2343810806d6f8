from django.apps import AppConfig


class CoursesConfig(AppConfig):
    name = "collab.courses"
    label = "courses"
    verbose_name = "Courses"

    def ready(self):
        # sessions never imports courses: courses registers its access rules there.
        from collab.courses import access

        access.register()
