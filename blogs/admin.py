from django.contrib import admin

from blogs.models import Blog, BlogPost


@admin.register(Blog)
class BlogAdmin(admin.ModelAdmin):
    list_display = ("title", "space", "owner", "team", "created_at")
    list_filter = ("space",)


@admin.register(BlogPost)
class BlogPostAdmin(admin.ModelAdmin):
    list_display = ("title", "blog", "author", "status", "published_at")
    list_filter = ("status",)
    readonly_fields = ("body_html",)
