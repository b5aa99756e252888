import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ADMIN_OPENAPI_PATH, adminOpenApi, adminRouteDocs } from '../../shared/app/admin-openapi.js';
import { documentedRoutes, OPENAPI_FILE, openApiText } from '../../scripts/write-openapi.js';

const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'];

describe('the admin API OpenAPI document', () => {
  it('is committed as generated (`npm run openapi` rewrites docs/openapi.json)', () => {
    expect(readFileSync(OPENAPI_FILE, 'utf8')).toBe(openApiText());
  });

  it('documents every admin route with its method, and documents no path that is not a route', () => {
    const document = JSON.parse(openApiText()) as { paths: Record<string, Record<string, unknown>> };
    const documented = Object.entries(document.paths).flatMap(([path, operations]) =>
      Object.keys(operations).filter((key) => METHODS.includes(key)).map((method) => `${method.toUpperCase()} ${path}`),
    );
    const routes = documentedRoutes().map((route) => `${route.method} ${route.path}`);
    expect(documented.sort()).toEqual([...routes, `GET ${ADMIN_OPENAPI_PATH}`].sort());
  });

  it('names every path parameter of a route, and needs the bearer token everywhere but on the document itself', () => {
    const document = adminOpenApi(documentedRoutes(), adminRouteDocs);
    expect(document.openapi).toBe('3.1.0');
    expect(document.security).toEqual([{ bearer: [] }]);
    for (const route of documentedRoutes()) {
      const operation = document.paths[route.path]?.[route.method.toLowerCase()] as { parameters?: { name: string; in: string }[]; responses: Record<string, unknown> };
      const inPath = (operation.parameters ?? []).filter((parameter) => parameter.in === 'path').map((parameter) => parameter.name);
      expect(inPath).toEqual([...route.path.matchAll(/\{([^}]+)\}/g)].map((match) => match[1]));
      expect(Object.keys(operation.responses)).toEqual(expect.arrayContaining(['401', '403', '500']));
    }
    expect(document.paths[ADMIN_OPENAPI_PATH]?.get).toMatchObject({ security: [] });
  });

  it('refuses a route without a description and a description without a route', () => {
    const routes = documentedRoutes();
    expect(() => adminOpenApi([...routes, { method: 'DELETE', path: '/admin/users/{userId}' }], adminRouteDocs)).toThrow(/routes without a description: DELETE \/admin\/users\/\{userId\}/);
    expect(() => adminOpenApi(routes.filter((route) => route.path !== '/admin/events'), adminRouteDocs)).toThrow(/descriptions without a route: GET \/admin\/events/);
  });

  it('takes its request bodies from the schemas the routes validate with', () => {
    const document = adminOpenApi(documentedRoutes(), adminRouteDocs);
    const bodyOf = (path: string) => (document.paths[path]?.post as { requestBody: { content: Record<string, { schema: Record<string, unknown> }> } }).requestBody.content['application/json']?.schema;
    expect(bodyOf('/admin/sso-providers')).toMatchObject({ type: 'object', required: ['account_id'], properties: { account_id: { type: 'string' }, provider: { type: 'object' } } });
    expect(bodyOf('/admin/events/replay')).toMatchObject({ anyOf: [{ required: ['connectionId', 'status'] }, { required: ['source'] }] });
  });
});
