@tool
class_name LiveKitAttenuationGraph
extends Control
## Draws gain (dB) versus distance (m) for one set of attenuation settings.
##
## The curve is [method LiveKitAttenuation.gain_db_for] sampled across the width, with a grid,
## axis labels, a marker at [code]unit_size[/code] and one at [code]max_distance[/code] (where
## the voice falls silent). Optionally the other three models are drawn faintly for comparison.

## Lowest gain shown; quieter points (and silence) sit on the bottom edge.
const FLOOR_DB := -60.0
## Space kept around the plot for the axis labels, in pixels (left, top, right, bottom).
const MARGINS := Vector4(44.0, 24.0, 14.0, 34.0)
## Colours of the curve, its fill, the markers and the comparison curves.
const CURVE_COLOR := Color(0.35, 0.8, 1.0)
## Fill under the curve.
const FILL_COLOR := Color(0.35, 0.8, 1.0, 0.14)
## The max_distance marker.
const MAX_DISTANCE_COLOR := Color(1.0, 0.55, 0.3)
## The unit_size marker.
const UNIT_SIZE_COLOR := Color(0.55, 0.95, 0.55)
## Comparison curves of the other models.
const OTHER_MODEL_COLOR := Color(1.0, 1.0, 1.0, 0.22)
## Plot background.
const BACKGROUND_COLOR := Color(0.09, 0.1, 0.12)
## Grid lines.
const GRID_COLOR := Color(1.0, 1.0, 1.0, 0.08)
## Axis labels and tick numbers.
const LABEL_COLOR := Color(0.82, 0.84, 0.88)

## The settings drawn (keys as in [constant LiveKitAttenuation.PRESETS]).
var settings: Dictionary = LiveKitAttenuation.preset("talk"):
	set = set_settings
## Draw the other three models faintly behind the curve.
var show_other_models: bool = false:
	set(value):
		show_other_models = value
		queue_redraw()


func _draw() -> void:
	var plot := get_plot_rect()
	draw_rect(Rect2(Vector2.ZERO, size), BACKGROUND_COLOR)
	if plot.size.x < 20.0 or plot.size.y < 20.0:
		return
	var font := get_theme_default_font()
	var font_size := maxi(8, get_theme_default_font_size() - 2)
	_draw_grid(plot, font, font_size)
	if show_other_models:
		for model in LiveKitAttenuation.MODEL_NAMES.size():
			if model != int(settings.get("model", 0)):
				var other := settings.duplicate()
				other["model"] = model
				draw_polyline(_curve_points(other, plot), OTHER_MODEL_COLOR, 1.0, true)
	var points := _curve_points(settings, plot)
	var fill := points.duplicate()
	fill.append(Vector2(plot.end.x, plot.end.y))
	fill.append(Vector2(plot.position.x, plot.end.y))
	draw_colored_polygon(fill, FILL_COLOR)
	draw_polyline(points, CURVE_COLOR, 2.0, true)
	_draw_markers(plot, font, font_size)
	var model := clampi(int(settings.get("model", 0)), 0, LiveKitAttenuation.MODEL_NAMES.size() - 1)
	var title := LiveKitAttenuation.MODEL_NAMES[model].to_lower()
	var width := font.get_string_size(title, HORIZONTAL_ALIGNMENT_LEFT, -1, font_size).x
	var base := Vector2(plot.end.x - width, font_size + 4.0)
	draw_string(font, base, title, HORIZONTAL_ALIGNMENT_LEFT, -1, font_size, CURVE_COLOR)


## Sets the settings drawn and redraws.
func set_settings(value: Dictionary) -> void:
	settings = value.duplicate()
	queue_redraw()


## Returns the plot area (inside the label margins), in local pixels.
func get_plot_rect() -> Rect2:
	var origin := Vector2(MARGINS.x, MARGINS.y)
	return Rect2(origin, size - origin - Vector2(MARGINS.z, MARGINS.w))


## Returns the largest distance on the horizontal axis, in metres: a round number a little
## beyond max_distance, or sixteen unit sizes when there is no max_distance.
func get_max_shown_distance() -> float:
	var max_distance := float(settings.get("max_distance", 0.0))
	var unit_size := float(settings.get("unit_size", 10.0))
	var wanted := max_distance * 1.1 if max_distance > 0.0 else unit_size * 16.0
	var step := nice_step(wanted, 5)
	return maxf(step, ceilf(wanted / step) * step)


## Returns the top of the vertical axis, in dB: the next multiple of 10 above max_db (the
## loudest the curve can be).
func get_top_db() -> float:
	return maxf(10.0, ceilf((float(settings.get("max_db", 3.0)) + 1.0) / 10.0) * 10.0)


## Returns the gain drawn at [param distance] metres (the math of [LiveKitAttenuation]).
func sample_db(distance: float) -> float:
	return LiveKitAttenuation.gain_db_for(settings, distance)


## Returns a round step (1, 2 or 5 times a power of ten) that cuts [param span] into about
## [param count] parts.
static func nice_step(span: float, count: int) -> float:
	if span <= 0.0 or count <= 0:
		return 1.0
	var raw := span / count
	var power := pow(10.0, floorf(log(raw) / log(10.0)))
	for factor: float in [1.0, 2.0, 5.0]:
		if raw <= factor * power:
			return factor * power
	return 10.0 * power


func _to_point(plot: Rect2, distance: float, db: float) -> Vector2:
	var top := get_top_db()
	var clamped := clampf(db, FLOOR_DB, top) if not is_inf(db) else FLOOR_DB
	var x := plot.position.x + plot.size.x * distance / get_max_shown_distance()
	var y := plot.position.y + plot.size.y * (top - clamped) / (top - FLOOR_DB)
	return Vector2(x, y)


func _curve_points(curve_settings: Dictionary, plot: Rect2) -> PackedVector2Array:
	var count := clampi(int(plot.size.x / 2.0), 32, 400)
	var span := get_max_shown_distance()
	var points := PackedVector2Array()
	points.resize(count + 1)
	for i in count + 1:
		var distance := span * i / count
		var db := LiveKitAttenuation.gain_db_for(curve_settings, distance)
		points[i] = _to_point(plot, distance, db)
	return points


func _draw_grid(plot: Rect2, font: Font, font_size: int) -> void:
	var top := get_top_db()
	var db_step := 10.0 if plot.size.y > 140.0 else 20.0
	var db := top
	while db >= FLOOR_DB - 0.01:
		var y := _to_point(plot, 0.0, db).y
		var color := GRID_COLOR if not is_zero_approx(db) else Color(1, 1, 1, 0.25)
		draw_line(Vector2(plot.position.x, y), Vector2(plot.end.x, y), color)
		var text := "%+d" % int(db) if not is_zero_approx(db) else "0"
		var width := font.get_string_size(text, HORIZONTAL_ALIGNMENT_RIGHT, -1, font_size).x
		draw_string(
			font,
			Vector2(plot.position.x - width - 5.0, y + font_size * 0.35),
			text,
			HORIZONTAL_ALIGNMENT_LEFT,
			-1,
			font_size,
			LABEL_COLOR
		)
		db -= db_step
	var span := get_max_shown_distance()
	var step := nice_step(span, 5)
	var distance := 0.0
	while distance <= span + step * 0.01:
		var x := _to_point(plot, distance, 0.0).x
		draw_line(Vector2(x, plot.position.y), Vector2(x, plot.end.y), GRID_COLOR)
		var text := _format_metres(distance)
		var width := font.get_string_size(text, HORIZONTAL_ALIGNMENT_LEFT, -1, font_size).x
		var base := Vector2(x - width / 2.0, plot.end.y + font_size + 3.0)
		draw_string(font, base, text, HORIZONTAL_ALIGNMENT_LEFT, -1, font_size, LABEL_COLOR)
		distance += step
	draw_rect(plot, Color(1, 1, 1, 0.25), false)
	var axis := "distance (m)"
	var axis_width := font.get_string_size(axis, HORIZONTAL_ALIGNMENT_LEFT, -1, font_size).x
	var axis_base := Vector2(plot.end.x - axis_width, plot.end.y + font_size * 2.0 + 6.0)
	draw_string(font, axis_base, axis, HORIZONTAL_ALIGNMENT_LEFT, -1, font_size, LABEL_COLOR)
	draw_string(
		font,
		Vector2(4.0, font_size + 4.0),
		"gain (dB)",
		HORIZONTAL_ALIGNMENT_LEFT,
		-1,
		font_size,
		LABEL_COLOR
	)


func _draw_markers(plot: Rect2, font: Font, font_size: int) -> void:
	var unit_size := float(settings.get("unit_size", 10.0))
	var model := int(settings.get("model", 0))
	if model != AudioStreamPlayer3D.ATTENUATION_DISABLED and unit_size < get_max_shown_distance():
		var unit_point := _to_point(plot, unit_size, sample_db(unit_size))
		draw_circle(unit_point, 3.5, UNIT_SIZE_COLOR)
		draw_string(
			font,
			unit_point + Vector2(6.0, -6.0),
			"unit_size %s" % _format_metres(unit_size),
			HORIZONTAL_ALIGNMENT_LEFT,
			-1,
			font_size,
			UNIT_SIZE_COLOR
		)
	var max_distance := float(settings.get("max_distance", 0.0))
	if max_distance <= 0.0:
		draw_string(
			font,
			Vector2(plot.end.x - 150.0, plot.position.y + font_size + 4.0),
			"no max_distance",
			HORIZONTAL_ALIGNMENT_RIGHT,
			144.0,
			font_size,
			MAX_DISTANCE_COLOR
		)
		return
	var x := _to_point(plot, max_distance, 0.0).x
	var dash := 6.0
	var y := plot.position.y
	while y < plot.end.y:
		draw_line(Vector2(x, y), Vector2(x, minf(y + dash, plot.end.y)), MAX_DISTANCE_COLOR, 1.5)
		y += dash * 2.0
	var label := "max_distance %s" % _format_metres(max_distance)
	var width := font.get_string_size(label, HORIZONTAL_ALIGNMENT_LEFT, -1, font_size).x
	var label_x := x - width - 5.0 if x - width - 5.0 > plot.position.x else x + 5.0
	draw_string(
		font,
		Vector2(label_x, plot.position.y + font_size + 4.0),
		label,
		HORIZONTAL_ALIGNMENT_LEFT,
		-1,
		font_size,
		MAX_DISTANCE_COLOR
	)


static func _format_metres(metres: float) -> String:
	if is_equal_approx(metres, roundf(metres)):
		return "%d m" % int(roundf(metres))
	return "%.1f m" % metres
