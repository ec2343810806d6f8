from django.urls import path

from collab.courses import views

urlpatterns = [
    path("", views.course_list, name="course_list"),
    path("join/", views.course_join, name="course_join"),
    path("join/<str:code>/", views.course_join, name="course_join_link"),
    path("<int:pk>/", views.course_detail, name="course_detail"),
    path("<int:pk>/roster/", views.course_roster, name="course_roster"),
    path("<int:pk>/staff/", views.course_staff, name="course_staff"),
    path("<int:pk>/groups/", views.course_group_create, name="course_group_create"),
    path("<int:pk>/groups/random/", views.course_groups_random, name="course_groups_random"),
    path("<int:pk>/members/<int:member_id>/group/", views.course_member_group, name="course_member_group"),
    path("<int:pk>/share/", views.course_share, name="course_share"),
    path("<int:pk>/delete/", views.course_delete, name="course_delete"),
    path("<int:pk>/assignments/new/", views.assignment_new, name="assignment_new"),
    path("assignments/<int:pk>/", views.assignment_detail, name="assignment_detail"),
    path("assignments/<int:pk>/edit/", views.assignment_edit, name="assignment_edit"),
    path("assignments/<int:pk>/publish/", views.assignment_publish, name="assignment_publish"),
    path("assignments/<int:pk>/wall/", views.assignment_wall, name="assignment_wall"),
    path("assignments/<int:pk>/broadcast/", views.assignment_broadcast, name="assignment_broadcast"),
    path("assignments/<int:pk>/grades/", views.grades, name="grades"),
    path("assignments/<int:pk>/grades.csv", views.grades_csv, name="grades_csv"),
    path("assignments/<int:pk>/criteria.csv", views.criteria_csv, name="criteria_csv"),
    path("assignments/<int:pk>/release/", views.feedback_release, name="feedback_release"),
    path("assignments/<int:pk>/groups/<int:link_id>/grade/", views.grade_form, name="grade_form"),
    path("assignments/<int:pk>/groups/<int:link_id>/<str:action>/", views.group_action, name="group_action"),
]
