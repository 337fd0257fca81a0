from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BlogsConfig(AppConfig):
    name = "blogs"
    verbose_name = _("Blogs")

    def ready(self) -> None:
        from hub.notify import register_kind

        register_kind("blogs.post", _("New posts in blogs I follow"))
        register_kind("blogs.comment", _("Comments on my blog posts"))

        from blogs import realtime, selectors  # noqa: F401
        from hub import files

        files.register("blogs", selectors.image_file_name)

        from blogs.search import register_blog_posts

        register_blog_posts()
