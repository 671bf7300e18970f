import json
from openapi_spec_validator import validate
from openapi_spec_validator.readers import read_from_filename
spec, _ = read_from_filename('/work/main/crates/service/src/api/openapi.json')
validate(spec)
print("openapi-spec-validator: OK (no errors)")
