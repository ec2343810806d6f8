from django import template

register = template.Library()


@register.filter(name="get_item")
def get_item(mapping, key):
    return (mapping or {}).get(key)


@register.filter(name="share")
def share(used, budget):
    """Percent of a budget used, capped at 100, for a meter; None without a budget."""
    if not budget:
        return None
    return min(100, round(100 * float(used or 0) / float(budget)))
