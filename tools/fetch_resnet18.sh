#!/usr/bin/env bash
# Restores a real pretrained ImageNet ResNet-18 (the one ML.NET's DnnImageFeaturizer ships: Microsoft.ML.DnnImageFeaturizer.ResNet18
# 0.24.0 on NuGet, MIT; exported by CNTK at opset 8, batch fixed to 1, output the 512 pooled features [1, 512, 1, 1])
# into a cache folder and prints the model's path. Nothing is committed; the tests restore it the same way.
#
#   tools/fetch_resnet18.sh [CACHE]        CACHE defaults to $PERCEPT_MODELS, else ~/.cache/percept-models
#
# The model takes pixels in 0..255 minus the ImageNet means, in BGR order (the package's ResNetPreprocess.onnx reverses
# ML.NET's RGB and subtracts them):
#   percept analyze --model "$(tools/fetch_resnet18.sh)" --data FOLDER --color bgr --scale 1 --mean 103.94,116.78,123.68
set -euo pipefail
CACHE=${1:-${PERCEPT_MODELS:-$HOME/.cache/percept-models}}
MODEL=$CACHE/microsoft.ml.dnnimagefeaturizer.resnet18/0.24.0/tools/DnnImageModels/ResNet18Onnx/ResNet18.onnx
if [ ! -f "$MODEL" ]; then
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  cat > "$work/restore.csproj" <<'XML'
<Project Sdk="Microsoft.NET.Sdk">
  <PropertyGroup><TargetFramework>net10.0</TargetFramework><NoWarn>NU1603</NoWarn></PropertyGroup>
  <ItemGroup><PackageReference Include="Microsoft.ML.DnnImageFeaturizer.ResNet18" Version="0.24.0" /></ItemGroup>
</Project>
XML
  dotnet restore "$work/restore.csproj" --packages "$CACHE" > "$work/restore.log" 2>&1 || { tail -5 "$work/restore.log" >&2; exit 1; }
fi
[ -f "$MODEL" ] || { echo "the package restored without $MODEL" >&2; exit 1; }
echo "$MODEL"
