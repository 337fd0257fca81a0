// Media of the live class room (video tiles in #media-stage): see classrooms/media.py.
