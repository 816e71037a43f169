extends Control
## Draws a known colour, then reports what the renderer produced, for the screenshot test.
##
## Prints VIEWPORT_SIZE and PIXEL (a corner pixel of the rendered viewport) and then
## ENGINE_TEST PASS, and keeps running so that the harness can take its screenshot.

## Frames to wait so that the first draws are done before reading the viewport back.
const FRAMES_BEFORE_READ: int = 5

var _frames: int = 0


func _process(_delta: float) -> void:
	_frames += 1
	if _frames == FRAMES_BEFORE_READ:
		_report.call_deferred()


func _report() -> void:
	await RenderingServer.frame_post_draw
	var image: Image = get_viewport().get_texture().get_image()
	var pixel: Color = image.get_pixel(image.get_width() - 2, image.get_height() - 2)
	print("VIEWPORT_SIZE=%dx%d" % [image.get_width(), image.get_height()])
	print("PIXEL=%d,%d,%d" % [pixel.r8, pixel.g8, pixel.b8])
	print("ENGINE_TEST PASS")
