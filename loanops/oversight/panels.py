"""The loan page's banner: the NPL restriction of the loan's institution, when restricted."""

from django.utils.translation import gettext_lazy as _

from loanops.oversight.selectors import restriction_if_restricted


def restriction_panel(request, loan):
    restriction = restriction_if_restricted(branch=loan.branch)  # one query
    if restriction is None:
        return None
    return {
        "id": "npl-restriction",
        "title": _("Institution restricted (NPL ratio)"),
        "template": "oversight/includes/restriction_banner.html",
        "context": {"restriction": restriction},
    }
