package flow

import (
	"bytes"
	"encoding/json"
)

//go:generate sh -c "cd ../.. && go run ./cmd/voronka schema > engine/flow/schema.json"

// JSONSchema returns the JSON Schema (draft-07) of the flow format, generated
// from NodeSpecs so the validator, the schema and the builder cannot drift
// apart. Editors use it to autocomplete and check YAML flows.
func JSONSchema() ([]byte, error) {
	defs := map[string]any{
		"duration": map[string]any{
			"type":        "string",
			"pattern":     `^\s*(\d+(\.\d+)?\s*(ms|s|m|min|h|d|w)\s*)+$`,
			"description": "a duration: 90s, 30m, 2h, 1d, 1w, 1h30m",
		},
		"nodeRef":  map[string]any{"type": "string", "pattern": `^[A-Za-z0-9_-]{1,64}$`, "description": "id of a node"},
		"variable": map[string]any{"type": "string", "pattern": "^" + varPattern + "$", "description": "a variable declared under vars"},
		"strings": map[string]any{"oneOf": []any{
			map[string]any{"type": "string"},
			map[string]any{"type": "array", "items": map[string]any{"type": "string"}},
		}},
		"expression": map[string]any{"type": []string{"string", "number", "boolean"}, "description": "an expr-lang expression"},
		"trigger": object(map[string]any{
			"command":  map[string]any{"type": "string", "pattern": `^/\S+$`, "description": "a command such as /start"},
			"keywords": ref("strings"),
			"goto":     ref("nodeRef"),
			"reset":    map[string]any{"type": "boolean", "description": "clear vars, tags and score"},
		}, "goto"),
		"faq": object(map[string]any{
			"keywords": ref("strings"),
			"answer":   map[string]any{"type": "string"},
		}, "keywords", "answer"),
		"button": object(map[string]any{
			"label": map[string]any{"type": "string", "minLength": 1},
			"next":  ref("nodeRef"),
			"score": map[string]any{"type": "number"},
			"tags":  ref("strings"),
		}, "label", "next"),
		"branch":  object(map[string]any{"when": ref("expression"), "next": ref("nodeRef")}, "when", "next"),
		"variant": object(map[string]any{"name": map[string]any{"type": "string"}, "weight": map[string]any{"type": "number", "exclusiveMinimum": 0}, "next": ref("nodeRef")}, "name", "next"),
		"timeout": object(map[string]any{"after": ref("duration"), "next": ref("nodeRef")}, "after", "next"),
		"ui":      object(map[string]any{"x": map[string]any{"type": "number"}, "y": map[string]any{"type": "number"}}),
		"expect": map[string]any{"oneOf": []any{
			map[string]any{"enum": []string{"text", "number", "email", "phone", "date", "choice"}},
			map[string]any{"type": "string", "pattern": `^regex:`},
			object(map[string]any{"regex": map[string]any{"type": "string"}}, "regex"),
			object(map[string]any{"choice": ref("strings")}, "choice"),
		}},
	}
	var allOf []any
	for _, s := range NodeSpecs {
		props := map[string]any{}
		var req []string
		for _, f := range s.Fields {
			fs := fieldSchema(f)
			if f.Name == "type" {
				fs = map[string]any{"const": s.Type}
			}
			if f.Doc != "" {
				fs["description"] = f.Doc
			}
			props[f.Name] = fs
			if f.Required {
				req = append(req, f.Name)
			}
		}
		name := "node_" + s.Type
		defs[name] = object(props, req...)
		d := defs[name].(map[string]any)
		d["description"] = s.Doc
		allOf = append(allOf, map[string]any{
			"if":   map[string]any{"properties": map[string]any{"type": map[string]any{"const": s.Type}}, "required": []string{"type"}},
			"then": ref(name),
		})
	}
	defs["node"] = map[string]any{
		"type":       "object",
		"required":   []string{"type"},
		"properties": map[string]any{"type": map[string]any{"enum": NodeTypes()}},
		"allOf":      allOf,
	}
	root := map[string]any{
		"$schema":              "http://json-schema.org/draft-07/schema#",
		"$id":                  "https://voronka.dev/schema/flow-1.json",
		"title":                "Voronka flow",
		"type":                 "object",
		"additionalProperties": false,
		"required":             []string{"voronka", "id", "start", "nodes"},
		"properties": map[string]any{
			"voronka":     map[string]any{"const": FormatVersion, "description": "format version"},
			"id":          map[string]any{"type": "string", "pattern": `^[a-z0-9-]+$`},
			"name":        map[string]any{"type": "string"},
			"description": map[string]any{"type": "string"},
			"start":       ref("nodeRef"),
			"expire":      ref("duration"),
			"vars": map[string]any{
				"type":                 "object",
				"propertyNames":        map[string]any{"pattern": "^" + varPattern + "$"},
				"additionalProperties": map[string]any{"enum": []string{"string", "text", "number", "bool", "boolean", "date", "list", "object", "map", "any"}},
			},
			"scoring":  map[string]any{"type": "object", "additionalProperties": map[string]any{"type": "number"}},
			"triggers": map[string]any{"type": "array", "items": ref("trigger")},
			"faq":      map[string]any{"type": "array", "items": ref("faq")},
			"nodes": map[string]any{
				"type":                 "object",
				"minProperties":        1,
				"propertyNames":        map[string]any{"pattern": `^[A-Za-z0-9_-]{1,64}$`},
				"additionalProperties": ref("node"),
			},
		},
		"definitions": defs,
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(root); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func ref(name string) map[string]any { return map[string]any{"$ref": "#/definitions/" + name} }

func object(props map[string]any, required ...string) map[string]any {
	o := map[string]any{"type": "object", "properties": props, "additionalProperties": false}
	if len(required) > 0 {
		o["required"] = required
	}
	return o
}

func fieldSchema(f FieldSpec) map[string]any {
	switch f.Kind {
	case KindTemplate, KindString:
		return map[string]any{"type": "string"}
	case KindCondition:
		return ref("expression")
	case KindNodeRef:
		return ref("nodeRef")
	case KindDuration:
		return ref("duration")
	case KindInt:
		return map[string]any{"type": "integer", "minimum": 1}
	case KindNumber:
		return map[string]any{"type": "number"}
	case KindBool:
		return map[string]any{"type": "boolean"}
	case KindStrings:
		return ref("strings")
	case KindVar:
		return ref("variable")
	case KindExpect:
		return ref("expect")
	case KindMethod:
		return map[string]any{"enum": Methods}
	case KindButtons:
		return map[string]any{"type": "array", "minItems": 1, "items": ref("button")}
	case KindBranches:
		return map[string]any{"type": "array", "minItems": 1, "items": ref("branch")}
	case KindVariants:
		return map[string]any{"type": "array", "minItems": 1, "items": ref("variant")}
	case KindTimeout:
		return ref("timeout")
	case KindAssign:
		return map[string]any{"type": "object", "additionalProperties": ref("expression")}
	case KindHeaders:
		return map[string]any{"type": "object", "additionalProperties": map[string]any{"type": "string"}}
	case KindBody:
		return map[string]any{}
	case KindUI:
		return ref("ui")
	}
	return map[string]any{}
}
