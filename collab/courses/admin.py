from django.contrib import admin

from collab.courses.models import Assignment, Course, CourseMember, Grade, Group, GroupSession


@admin.register(Course)
class CourseAdmin(admin.ModelAdmin):
    list_display = ["title", "code", "join_code", "created_at"]
    search_fields = ["title", "code"]


admin.site.register([CourseMember, Group, Assignment, GroupSession, Grade])
