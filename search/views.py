"""The search page: results as you type (search/static/search/search.js), and the same
results rendered by the server when the form is sent without script."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from hub.accounts.selectors import spaces_of
from search import registry, selectors
from search.forms import SearchParamsSerializer, filters_from
from search.query import MAX_QUERY_LENGTH


@login_required
def search_page(request: HttpRequest) -> HttpResponse:
    params = SearchParamsSerializer(data={**request.GET.dict(), "q": request.GET.get("q", "")})
    results, errors, status = None, [], 200
    if params.is_valid():
        data = params.validated_data
        if data["q"].strip():
            results = selectors.search(
                user=request.user,
                query=data["q"],
                filters=filters_from(data),
                page=data["page"],
                page_size=data["page_size"],
            )
    else:
        errors = [str(m) for messages in params.errors.values() for m in messages]
        status = 400
    where_labels = {}
    for source in registry.sources():
        where_labels.setdefault(source.where, source.where_label or source.label)
    return render(
        request,
        "search/search.html",
        {
            "query": request.GET.get("q", "")[: MAX_QUERY_LENGTH + 1],
            "params": request.GET,
            "results": results,
            "errors": errors,
            "where_kinds": [(kind, where_labels[kind]) for kind in registry.where_kinds()],
            "spaces": spaces_of(user=request.user),
            "max_length": MAX_QUERY_LENGTH,
        },
        status=status,
    )
