import { describe, expect, it } from 'vitest';
import { parsePreviewFrame, promptRejection } from '../../src/comfy/comfy.client.ts';
import { checkRequestedServer, parseServerList, serverOrigin } from '../../src/comfy/comfy.server-url.ts';
import { fillTemplate, parseBindings, parseWorkflowName, toApiWorkflow } from '../../src/comfy/comfy.workflow.ts';
import { WorkflowProgress } from '../../workers/engines/comfyui/comfyui.progress.ts';

const api = {
  '4': { class_type: 'CheckpointLoaderSimple', inputs: { ckpt_name: 'a.safetensors' } },
  '6': { class_type: 'CLIPTextEncode', inputs: { text: 'x', clip: ['4', 1] } },
  '9': { class_type: 'SaveImage', inputs: { images: ['6', 0] } },
};

describe('ComfyUI workflows', () => {
  it('accepts API format and maps the simplified node list by position', () => {
    expect(toApiWorkflow(api)).toEqual(api);
    expect(toApiWorkflow({ nodes: [{ type: 'SDXLLoader', inputs: { prompt: 'p' } }, { type: 'SaveImage', inputs: { images: ['1', 0] } }] })).toEqual({
      '1': { class_type: 'SDXLLoader', inputs: { prompt: 'p' } },
      '2': { class_type: 'SaveImage', inputs: { images: ['1', 0] } },
    });
  });

  it('refuses malformed workflows with BAD_USER_INPUT', () => {
    for (const bad of [null, [], 'x', {}, { nodes: [] }, { '1': { inputs: {} } }, { '1': { class_type: 'A', inputs: { x: ['7', 0] } } }]) {
      expect(() => toApiWorkflow(bad), JSON.stringify(bad)).toThrow(expect.objectContaining({ code: 'BAD_USER_INPUT' }));
    }
  });

  it('validates names', () => {
    expect(parseWorkflowName(' sdxl base v2 ')).toBe('sdxl base v2');
    for (const bad of ['', '../x', 'a/b', 'a\\b', 'x..y', 'tab\there', 'nul\u0000', 'del\u007f']) {
      expect(() => parseWorkflowName(bad), bad).toThrow(expect.objectContaining({ code: 'BAD_USER_INPUT' }));
    }
  });

  it('checks bindings against the workflow and fills a copy of the template', () => {
    const bindings = parseBindings({ prompt: '6.text', image: ['4.ckpt_name'] }, api);
    expect(bindings).toEqual({ prompt: ['6.text'], image: ['4.ckpt_name'] });
    expect(() => parseBindings({ prompt: '5.text' }, api)).toThrow(/node 5 is not in the workflow/);
    expect(() => parseBindings({ style: '6.text' }, api)).toThrow(expect.objectContaining({ code: 'BAD_USER_INPUT' }));
    const { workflow, uploads } = fillTemplate(api, bindings, { prompt: 'a fox', image: 'asset-1' });
    expect(workflow['6']!.inputs.text).toBe('a fox');
    expect(api['6'].inputs.text).toBe('x');
    expect(uploads).toEqual([{ assetId: 'asset-1', targets: ['4.ckpt_name'] }]);
    expect(() => fillTemplate(api, bindings, { seed: 3 })).toThrow('This workflow has no binding for "seed"');
  });

  it('weights progress by nodes, never goes back, and stays below 1 until success', () => {
    const progress = new WorkflowProgress(['1', '2', '3', '4']);
    const seen: number[] = [];
    progress.cached(['1']);
    seen.push(progress.fraction());
    progress.executing('2');
    progress.step('2', 5, 10);
    seen.push(progress.fraction());
    progress.executing('3');
    seen.push(progress.fraction());
    progress.restart();
    seen.push(progress.fraction());
    progress.executed('3');
    progress.executed('4');
    progress.executed('1');
    progress.executed('2');
    seen.push(progress.fraction());
    expect(seen).toEqual([0.25, 0.375, 0.5, 0.5, 0.99]);
  });

  it('shapes node_errors into one message per node', () => {
    const error = promptRejection({
      error: { type: 'prompt_outputs_failed_validation', message: 'Prompt outputs failed validation', details: '' },
      node_errors: { '4': { errors: [{ type: 'value_not_in_list', message: 'Value not in list', details: "ckpt_name: 'x' not in []" }], class_type: 'CheckpointLoaderSimple' } },
    });
    expect(error.code).toBe('BAD_USER_INPUT');
    expect(error.message).toBe("Prompt outputs failed validation. Node 4 (CheckpointLoaderSimple): Value not in list: ckpt_name: 'x' not in []");
  });

  it('reads binary preview frames', () => {
    const frame = Buffer.concat([Buffer.from([0, 0, 0, 1, 0, 0, 0, 2]), Buffer.from('png')]);
    expect(parsePreviewFrame(frame)).toEqual({ mime: 'image/png', data: Buffer.from('png') });
    expect(parsePreviewFrame(Buffer.from([0, 0, 0, 3, 0, 0, 0, 1]))).toBeNull();
    const meta = Buffer.from(JSON.stringify({ image_type: 'image/png', prompt_id: 'p' }));
    const length = Buffer.alloc(4);
    length.writeUInt32BE(meta.length);
    expect(parsePreviewFrame(Buffer.concat([Buffer.from([0, 0, 0, 4]), length, meta, Buffer.from('img')]))).toEqual({ mime: 'image/png', data: Buffer.from('img') });
  });

  it('allows only listed servers, never link-local or metadata addresses', () => {
    const allowed = parseServerList('http://10.0.0.5:8188/, https://comfy.example.com', 'X');
    expect(allowed).toEqual(['http://10.0.0.5:8188', 'https://comfy.example.com']);
    expect(checkRequestedServer('http://10.0.0.5:8188/anything', allowed)).toBe('http://10.0.0.5:8188');
    for (const bad of ['http://10.0.0.6:8188', 'http://169.254.169.254', 'http://[fe80::1]', 'http://[::ffff:a9fe:a9fe]', 'ftp://10.0.0.5', 'http://u:p@10.0.0.5:8188']) {
      expect(() => checkRequestedServer(bad, allowed), bad).toThrow(expect.objectContaining({ code: 'BAD_USER_INPUT' }));
    }
    expect(serverOrigin('http://169.254.169.254')).toBeNull();
    expect(() => parseServerList('http://169.254.169.254', 'COMFYUI_ALLOWED_SERVERS')).toThrow(/COMFYUI_ALLOWED_SERVERS/);
  });
});
