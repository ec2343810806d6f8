from django.apps import AppConfig


class ResearchConfig(AppConfig):
    name = "collab.research"
    verbose_name = "Research workbench"

    def ready(self):
        # The transcript (a sessions page) filters by label without sessions importing research.
        from collab.research import selectors
        from collab.sessions.selectors import TRANSCRIPT_FILTERS, TranscriptFilter

        TRANSCRIPT_FILTERS["label"] = TranscriptFilter(
            name="label", title="Label", choices=selectors.label_choices, seqs=selectors.seqs_with_label)
