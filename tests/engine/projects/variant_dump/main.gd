extends Node
## Dumps Godot's binary Variant encoding of fixed values, as ground truth for the Python codec.
##
## Prints one line per value, "VAR <name> <hex of var_to_bytes(value)>", followed by
## "REENCODED <name> <hex>" when var_to_bytes(bytes_to_var(those bytes)) differs, then
## ENGINE_TEST PASS. tests/engine/test_variant_engine.py reads the lines. Names and expressions
## follow tests/unit/variant_vectors.py where it has the same value, so the two compare one for
## one; the other names are values only this dump has.


func _ready() -> void:
	var seen: Dictionary[String, bool] = {}
	for entry: Array in _vectors():
		var name: String = entry[0]
		var encoded: PackedByteArray = var_to_bytes(entry[1])
		if seen.has(name) or encoded.is_empty():
			print("ENGINE_TEST FAIL: duplicate name or no bytes for %s" % name)
			get_tree().quit(1)
			return
		seen[name] = true
		print("VAR %s %s" % [name, encoded.hex_encode()])
		var again: PackedByteArray = var_to_bytes(bytes_to_var(encoded))
		if again != encoded:
			print("REENCODED %s %s" % [name, again.hex_encode()])
	print("VAR_COUNT=%d" % seen.size())
	print("ENGINE_TEST PASS")
	get_tree().quit()


## Returns [name, value] pairs.
func _vectors() -> Array[Array]:
	var values: Array[Array] = []
	values.append_array(_scalars())
	values.append_array(_math())
	values.append_array(_containers())
	values.append_array(_packed())
	return values


func _scalars() -> Array[Array]:
	return [
		["nil", null],
		["bool_true", true],
		["bool_false", false],
		["int_zero", 0],
		["int_7", 7],
		["int_minus_one", -1],
		["int32_max", 2147483647],
		["int32_max_plus_one", 2147483648],
		["int32_min", -2147483648],
		["int32_min_minus_one", -2147483649],
		["int_1_shl_40", 1 << 40],
		["int64_max", 9223372036854775807],
		["int64_min", -9223372036854775807 - 1],
		["float_exact_f32", 1.5],
		["float_needs_f64", 0.1],
		["float_negative_zero", -0.0],
		["float_inf", INF],
		["float_beyond_f32", 1e300],
		["float_nan", NAN],
		["string_empty", ""],
		["string_padded", "abc"],
		["string_unpadded", "abcd"],
		["string_two_byte_utf8", "héllo"],
		["string_four_byte_utf8", "🎮"],
		["string_name", &"hi"],
		["string_name_abc", StringName("abc")],
		["node_path_absolute", NodePath("/root/Main:position:x")],
		["node_path_relative", NodePath("Child")],
	]


func _math() -> Array[Array]:
	var basis := Basis(Vector3(1, 2, 3), Vector3(4, 5, 6), Vector3(7, 8, 9))
	return [
		["vector2", Vector2(1.5, -2)],
		["vector2i", Vector2i(1, -2)],
		["rect2", Rect2(1, 2, 3, 4)],
		["rect2i", Rect2i(1, 2, 3, 4)],
		["vector3", Vector3(1, 2, 3)],
		["vector3i", Vector3i(1, -1, 3)],
		["transform2d", Transform2D(Vector2(1, 2), Vector2(3, 4), Vector2(5, 6))],
		["vector4", Vector4(1, 2, 3, 4)],
		["vector4i", Vector4i(1, 2, 3, -4)],
		["plane", Plane(Vector3(0, 1, 0), 2.5)],
		["quaternion", Quaternion(0, 0, 0, 1)],
		["aabb", AABB(Vector3(1, 2, 3), Vector3(4, 5, 6))],
		["basis", basis],
		["basis_identity", Basis.IDENTITY],
		["transform3d", Transform3D(basis, Vector3(10, 11, 12))],
		["transform3d_identity", Transform3D.IDENTITY],
		[
			"projection",
			Projection(
				Vector4(1, 2, 3, 4),
				Vector4(5, 6, 7, 8),
				Vector4(9, 10, 11, 12),
				Vector4(13, 14, 15, 16)
			)
		],
		["color", Color(1, 0.5, 0.25, 1)],
	]


func _containers() -> Array[Array]:
	return [
		["dictionary_empty", {}],
		["dictionary", {"a": 1}],
		["dictionary_with_array", {"a": 1, "b": [1, 2.5, "x"]}],
		["array_empty", []],
		["array_mixed", [1, "x", null]],
		["array_one_two_null", [1, "two", null]],
		["typed_array_int", Array([1, 2], TYPE_INT, &"", null)],
		["typed_array_object_empty", Array([], TYPE_OBJECT, &"Node", null)],
		["typed_dictionary", Dictionary({"a": 1}, TYPE_STRING, &"", null, TYPE_INT, &"", null)],
		[
			"nested",
			{"pos": Vector3(1, 2, 3), "ids": PackedInt32Array([7]), "tags": ["a"]},
		],
	]


func _packed() -> Array[Array]:
	return [
		["packed_byte_array_empty", PackedByteArray()],
		["packed_byte_array", PackedByteArray([1, 2, 3])],
		["packed_int32_array", PackedInt32Array([1, -1])],
		["packed_int32_array_1_neg2", PackedInt32Array([1, -2])],
		["packed_int64_array", PackedInt64Array([1, -1])],
		["packed_int64_array_1_shl_40", PackedInt64Array([1, 1 << 40])],
		["packed_float32_array", PackedFloat32Array([1.5, -2])],
		["packed_float32_array_half", PackedFloat32Array([0.5, -1.0])],
		["packed_float64_array", PackedFloat64Array([0.1])],
		["packed_string_array", PackedStringArray(["a", "bcd", ""])],
		["packed_string_array_a_bc", PackedStringArray(["a", "bc"])],
		["packed_vector2_array", PackedVector2Array([Vector2(1.5, -2), Vector2(3.25, 4)])],
		["packed_vector2_array_empty", PackedVector2Array()],
		["packed_vector3_array", PackedVector3Array([Vector3(1, 2, 3)])],
		["packed_color_array", PackedColorArray([Color(1, 0, 0, 1)])],
		["packed_vector4_array", PackedVector4Array([Vector4(1, 2, 3, 4)])],
	]
