"""Book-swap example service: a small Flask app with three slow spots that profiles reveal."""
