import json
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
doc = json.load(open('/work/main/crates/service/src/api/openapi.json'))
# strip non-jsonschema keyword x-enum-descriptions is fine (ignored)
res = Resource.from_contents(doc, default_specification=__import__('referencing').jsonschema.DRAFT202012)
reg = Registry().with_resource("urn:doc", res)
def check(schema, value, where):
    s = dict(schema)
    s = {"$ref": "urn:doc#" + schema["$ref"][1:]} if "$ref" in schema else {"$id": "urn:tmp", **schema}
    v = Draft202012Validator(s, registry=reg)
    errs = list(v.iter_errors(value))
    for e in errs: print("FAIL", where, e.message)
    return not errs
n=0
def walk(o, path):
    global n
    if isinstance(o, dict):
        if "schema" in o and "examples" in o and isinstance(o["examples"], dict):
            for k, e in o["examples"].items():
                n+=1; check(o["schema"], e["value"], path+"/"+k)
        for k, v in o.items():
            walk(v, path+"/"+k)
    elif isinstance(o, list):
        for i, v in enumerate(o): walk(v, path+f"/{i}")
walk(doc["paths"], "paths")
for name, s in doc["components"]["schemas"].items():
    for i, e in enumerate(s.get("examples", [])):
        n+=1; check({"$ref": f"#/components/schemas/{name}"}, e, f"schema {name}[{i}]")
for name, r in doc["components"]["responses"].items():
    walk(r, "responses/"+name)
print("checked", n, "examples")
