from django.urls import NoReverseMatch, reverse

from callback_office.nav import items_for
from callback_office.roles import roles_of


def navigation(request):
    """Menu entries the user's roles may open (unknown URL names are skipped)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_items": [], "user_roles": frozenset()}
    roles = roles_of(user)
    items = []
    for item in items_for(roles):
        try:
            items.append({"label": item.label, "url": reverse(item.url_name)})
        except NoReverseMatch:
            continue
    return {"nav_items": items, "user_roles": roles}
